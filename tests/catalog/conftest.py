from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog.evaluation import catalog_bootstrap, jobs_evaluate, system_evaluate
from catalog.facets import facets_catch_up
from catalog.models import AISystem, Finding
from catalog.propagation import classifications_propagate
from catalog.services import governance_rules_apply, members_apply_rules
from lineage.models import Dataset, Job
from lineage.services import IntakeOutcome, events_ingest

Ingest = Callable[..., IntakeOutcome]


@pytest.fixture
def ingest(db: None) -> Ingest:
    """Post events through the real intake, then let the catalog read what they carried."""

    def post(*events: dict[str, Any]) -> IntakeOutcome:
        outcome = events_ingest(events=list(events))
        assert all(r.status in ("accepted", "duplicate") for r in outcome.results), outcome.results
        facets_catch_up()
        members_apply_rules(dataset_ids=outcome.touched.dataset_ids, job_ids=outcome.touched.job_ids)
        governance_rules_apply(dataset_ids=outcome.touched.dataset_ids)
        classifications_propagate(dataset_ids=outcome.touched.dataset_ids)
        return outcome

    return post


@pytest.fixture
def evaluate(db: None) -> Callable[[AISystem], list[Finding]]:
    """Evaluate every policy for a system; return its unresolved findings."""
    catalog_bootstrap()

    def run(system: AISystem) -> list[Finding]:
        system_evaluate(system_id=system.pk)
        return list(Finding.objects.filter(system=system).exclude(status="resolved").order_by("policy_key", "item"))

    return run


@pytest.fixture
def evaluate_jobs(db: None) -> Callable[[], list[Finding]]:
    catalog_bootstrap()

    def run() -> list[Finding]:
        jobs_evaluate(job_ids=Job.objects.values_list("pk", flat=True))
        return list(Finding.objects.filter(subject__startswith="job:").exclude(status="resolved").order_by("item"))

    return run


def ds(namespace: str, name: str) -> Dataset:
    return Dataset.objects.get(namespace__name=namespace, name=name)


def job(namespace: str, name: str) -> Job:
    return Job.objects.get(namespace__name=namespace, name=name)
