"""Settings for benchmark servers: production settings plus the bench-only URLconf.

The floor endpoint lives in ``bench.floor_urls`` and never in ``config.urls``.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403 - the production settings, unchanged

ROOT_URLCONF = "bench.floor_urls"
