"""Celery entry points of the catalog. Each takes ids, calls services, and is safe to re-run.

Retries only on the database being briefly unavailable or locked (``OperationalError``,
``InterfaceError``), with exponential backoff and a cap; anything else is a bug and fails loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from catalog.evaluation import catalog_bootstrap, jobs_evaluate, system_evaluate
from catalog.facets import facets_catch_up
from catalog.findings import waivers_expire
from catalog.models import AISystem, FacetCursor
from catalog.propagation import classifications_propagate
from catalog.selectors import systems_touching
from catalog.services import governance_rules_apply, members_apply_rules
from catalog.traversal import downstream
from lineage.models import Dataset, Job, OutboxMessage

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 6,
    "ignore_result": True,
}
SWEEP_CHUNK = 200
# The outbox topic of fold transactions, and the cursor of how far the catalog has processed them.
GRAPH_CHANGED = "graph.changed"
GRAPH_CURSOR = "graph-changes"
# Outbox messages one process_graph_change task takes along at most.
MAX_COALESCED = 2_000


def _fan_out_systems(system_ids: Sequence[int]) -> None:
    for system_id in sorted(system_ids):
        evaluate_system.apply_async(kwargs={"system_id": system_id})


@shared_task(name="catalog.process_graph_change", soft_time_limit=110, time_limit=120, **RETRY)
def process_graph_change(*, seq_from: int, seq_to: int, **_: Any) -> None:
    """Bring the catalog up to date with the intake, then re-check what changed.

    Triggered by the outbox dispatcher for every ``graph.changed`` message (one per intake
    transaction). Under load those arrive faster than a check takes, so a task takes along every
    message not yet processed: it locks the ``graph-changes`` cursor, unions what all pending
    messages touched, processes that once and moves the cursor past them. The tasks of the messages
    it took along then find the cursor past their ``seq_to`` and return at once, so the queue drains
    instead of growing. Safe to re-run: the facet reader keeps its own cursor, rule/propagation
    writes are reconciliations, and evaluations only write when a finding's result changes.
    """
    with transaction.atomic():
        FacetCursor.objects.bulk_create([FacetCursor(name=GRAPH_CURSOR, seq=0)], ignore_conflicts=True)
        cursor = FacetCursor.objects.select_for_update().get(name=GRAPH_CURSOR)
        if cursor.seq >= seq_to:
            return  # an earlier task took this message along
        messages = list(
            OutboxMessage.objects.filter(topic=GRAPH_CHANGED, payload__seq_to__gt=cursor.seq)
            .order_by("id")
            .values_list("payload", flat=True)[:MAX_COALESCED]
        )
        dataset_ids: set[int] = set()
        job_ids: set[int] = set()
        upto = seq_to
        for payload in messages:
            dataset_ids.update(payload.get("dataset_ids") or ())
            job_ids.update(payload.get("job_ids") or ())
            upto = max(upto, int(payload.get("seq_to") or 0))
        _process_changes(seq_from=min(seq_from, cursor.seq + 1), seq_to=upto, dataset_ids=dataset_ids, job_ids=job_ids)
        cursor.seq = upto
        cursor.save(update_fields=["seq", "updated_at"])
        logger.info("catalog: processed #%s-#%s from %d outbox message(s)", seq_from, upto, len(messages))


def _process_changes(*, seq_from: int, seq_to: int, dataset_ids: set[int], job_ids: set[int]) -> None:
    catalog_bootstrap()
    facets_catch_up(up_to_seq=seq_to)
    members_apply_rules(dataset_ids=dataset_ids, job_ids=job_ids)
    governance_rules_apply(dataset_ids=dataset_ids)
    classifications_propagate(dataset_ids=dataset_ids)
    below = downstream(dataset_ids=dataset_ids)
    systems = systems_touching(dataset_ids=below.dataset_ids, job_ids=set(job_ids) | below.jobs)
    jobs_evaluate(job_ids=job_ids)
    if len(systems) <= settings.TRACEMARK_INLINE_SYSTEM_EVALUATIONS:
        for system_id in sorted(systems):
            system_evaluate(system_id=system_id)
    else:
        _fan_out_systems(sorted(systems))
    logger.info(
        "catalog: processed #%s-#%s (%d datasets, %d jobs) → %d systems",
        seq_from,
        seq_to,
        len(dataset_ids),
        len(job_ids),
        len(systems),
    )


@shared_task(name="catalog.evaluate_system", soft_time_limit=110, time_limit=120, **RETRY)
def evaluate_system(*, system_id: int) -> None:
    """Evaluate every policy for one system. Triggered by graph changes and the sweep.

    Safe to re-run: a second evaluation with nothing new writes nothing; a gone system is skipped.
    """
    system_evaluate(system_id=system_id)


@shared_task(name="catalog.evaluate_jobs", soft_time_limit=110, time_limit=120, **RETRY)
def evaluate_jobs(*, job_ids: Sequence[int]) -> None:
    """Evaluate the job policies (transfers, staff job rules) for a chunk of jobs. Idempotent."""
    jobs_evaluate(job_ids=job_ids)


@shared_task(name="catalog.refresh_datasets", soft_time_limit=110, time_limit=120, **RETRY)
def refresh_datasets(*, dataset_ids: Sequence[int]) -> None:
    """Re-apply rules and propagation from a chunk of datasets (sweep, staff edits).

    Re-checks the systems downstream of whatever changed. Idempotent: a second run changes nothing
    and so enqueues nothing.
    """
    members_apply_rules(dataset_ids=dataset_ids, job_ids=[])
    changed = {c.dataset_id for c in governance_rules_apply(dataset_ids=dataset_ids)}
    changed |= {c.dataset_id for c in classifications_propagate(dataset_ids=dataset_ids).changes}
    if changed:
        below = downstream(dataset_ids=changed)
        _fan_out_systems(sorted(systems_touching(dataset_ids=below.dataset_ids, job_ids=below.jobs)))


@shared_task(name="catalog.expire_waivers", soft_time_limit=50, time_limit=60, **RETRY)
def expire_waivers() -> int:
    """Reopen findings whose waiver lapsed. Triggered by beat; re-running finds nothing more."""
    return waivers_expire()


@shared_task(name="catalog.sweep", soft_time_limit=110, time_limit=120, **RETRY)
def sweep() -> None:
    """Re-check everything, in small fanned-out tasks. Triggered by beat (and ``evaluate_policies``).

    Safe to re-run: it only enqueues idempotent tasks.
    """
    catalog_bootstrap()
    facets_catch_up()
    members_apply_rules(job_ids=None, dataset_ids=None)
    dataset_ids = list(Dataset.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(dataset_ids), SWEEP_CHUNK * 10):
        refresh_datasets.apply_async(kwargs={"dataset_ids": dataset_ids[start : start + SWEEP_CHUNK * 10]})
    job_ids = list(Job.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(job_ids), SWEEP_CHUNK):
        evaluate_jobs.apply_async(kwargs={"job_ids": job_ids[start : start + SWEEP_CHUNK]})
    _fan_out_systems(list(AISystem.objects.values_list("pk", flat=True)))
