"""Prometheus metrics.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR so every process writes to a
shared folder and /metrics aggregates them; otherwise each process reports its own counters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

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
INTAKE_GROUP_SIZE = Histogram(
    "tracemark_intake_group_events",
    "Events stored together by one intake group commit (concurrent requests of one process).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
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


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time, so they agree across every process.

    Outbox depth (rows not yet handed to the broker) and queue lag (age of the oldest of them)
    say whether follow-up policy checks keep up with the intake; the ledger head says whether
    the intake moves at all. Two indexed queries per scrape.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Min
        from django.utils import timezone

        from lineage.models import LedgerHead, OutboxMessage

        try:
            pending = OutboxMessage.objects.filter(dispatched_at__isnull=True).aggregate(
                depth=Count("id"), oldest=Min("created_at")
            )
            head = LedgerHead.objects.filter(id=1).values_list("seq", flat=True).first()
        except Exception as exc:  # the database is down: /readyz says so; keep serving the rest
            logger.warning("metrics: database gauges unavailable: %s", type(exc).__name__)
            return
        oldest = pending["oldest"]
        lag = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "tracemark_outbox_pending", "Outbox messages not yet handed to the broker.", value=pending["depth"]
        )
        yield GaugeMetricFamily(
            "tracemark_outbox_lag_seconds",
            "Age of the oldest outbox message not yet handed to the broker (0 when none).",
            value=max(0.0, lag),
        )
        yield GaugeMetricFamily("tracemark_ledger_entries", "Sequence number of the ledger head.", value=head or 0)


def database_registry() -> CollectorRegistry:
    collected = CollectorRegistry(auto_describe=False)
    collected.register(DatabaseCollector())
    return collected
