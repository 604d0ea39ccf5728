"""Prometheus metrics.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR so every process writes to a
shared folder and /metrics aggregates them; otherwise each process reports its own counters.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import REGISTRY

INTAKE_EVENTS = Counter("tracemark_intake_events_total", "Events received by the intake, by result.", ["status"])
INTAKE_REQUESTS = Counter(
    "tracemark_intake_requests_total",
    "Intake HTTP requests, by endpoint and status code.",
    ["endpoint", "code"],
)
INTAKE_LATENCY = Histogram(
    "tracemark_intake_request_seconds",
    "Intake request latency.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LEDGER_HEAD = Gauge(
    "tracemark_ledger_head_seq", "Last ledger sequence number seen by this process.", multiprocess_mode="max"
)


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY
