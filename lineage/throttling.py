"""Per-process cap on concurrent intake requests: past it, answer 503 + Retry-After.

The OpenLineage client retries 5xx (not 429), so shedding load this way loses nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from config.errors import ServiceUnavailable

_lock = threading.Lock()
_inflight = 0


@contextmanager
def intake_slot() -> Iterator[None]:
    global _inflight
    with _lock:
        if _inflight >= settings.TRACEMARK_MAX_INFLIGHT:
            raise ServiceUnavailable(
                "Tracemark is at capacity; retry later.", retry_after=settings.TRACEMARK_RETRY_AFTER_SECONDS
            )
        _inflight += 1
    try:
        yield
    finally:
        with _lock:
            _inflight -= 1
