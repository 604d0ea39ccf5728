"""A task for the shutdown tests only, loaded into a worker with ``celery worker -I tests.faults.slow_task``."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.faults.sleep_then_mark", acks_late=True)
def sleep_then_mark(folder: str, seconds: float) -> None:
    """Write ``started``, sleep, write ``finished``: shows whether a shutdown let it complete."""
    Path(folder, "started").write_text("1")
    time.sleep(seconds)
    Path(folder, "finished").write_text("1")
