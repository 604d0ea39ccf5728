"""A realistic AI system for the report tests, built through the real services.

The credit-scoring factory of ``catalog.demo`` (ingestion in DE and FR, features, training,
evaluation, serving, one failed nightly load) plus a registered system, its components, staff
declarations and governance values — all of them recorded in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

from catalog import services as catalog
from catalog.demo import demo_events
from catalog.facets import facets_catch_up
from catalog.models import AISystem
from lineage.models import Dataset, Job, LedgerHead
from lineage.services import events_ingest

RECEIVED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
STAFF = "ana.compliance"


class Clock:
    """A clock that moves only when told to: the same ledger, byte for byte, however often it is read."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def tick(self) -> None:
        self.current += timedelta(seconds=1)


_clock: Clock | None = None


def tick() -> None:
    if _clock is not None:
        _clock.tick()


@contextmanager
def fixed_clock(start: datetime = RECEIVED) -> Iterator[Clock]:
    global _clock
    _clock = Clock(start)
    try:
        with mock.patch("django.utils.timezone.now", side_effect=_clock.now):
            yield _clock
    finally:
        _clock = None


@dataclass(frozen=True)
class Scenario:
    system: AISystem
    seq_after_lineage: int
    seq: int  # ledger head once everything is set up


def _dataset(namespace: str, name: str) -> Dataset:
    return Dataset.objects.get(namespace__name=namespace, name=name)


def _job(namespace: str, name: str) -> Job:
    return Job.objects.get(namespace__name=namespace, name=name)


def build_scenario(*, declarations: bool = True) -> Scenario:
    outcome = events_ingest(events=demo_events(), received_at=RECEIVED)
    assert all(r.status == "accepted" for r in outcome.results), outcome.results
    seq_after_lineage = LedgerHead.objects.get(id=1).seq
    facets_catch_up()  # energy, model and quality facets, as the catalog's worker would
    tick()
    catalog.taxonomy_install()
    system = catalog.system_register(
        slug="credit-scoring",
        name="Credit scoring",
        actor=STAFF,
        provider="Factory Bank AG",
        version="3.0",
        intended_purpose="Score consumer credit applications to support loan officers.",
        risk_tier="high-risk",
        annex_iii_area="essential-services",
        deployer="Factory Bank retail lending",
        status="deployed",
        allowed_jurisdictions=["EU"],
        log_retention_days=365,
    )
    links = [
        ("training_job", None, _job("ml://factory-eu", "train.credit_scoring")),
        ("evaluation_job", None, _job("ml://factory-eu", "evaluate.credit_scoring")),
        ("serving_job", None, _job("k8s://serving-eu", "serve.credit_scoring")),
        ("model", _dataset("mlflow://models.factory.eu", "credit-scoring/3"), None),
        ("training_data", _dataset("s3://factory-features-eu", "credit/train"), None),
        ("test_data", _dataset("s3://factory-features-eu", "credit/test"), None),
    ]
    for role, ds, job in links:
        tick()
        catalog.system_member_add(
            system_id=system.pk,
            role=role,
            actor=STAFF,
            dataset_id=ds.pk if ds else None,
            job_id=job.pk if job else None,
        )
    applications = _dataset("postgres://loans-db.fra.internal:5432", "lending.public.loan_applications")
    for attribute, value in (
        ("jurisdiction", "DE"),
        ("origin", "collected"),
        ("license", "LicenseRef-internal"),
        ("legal_basis", "GDPR Art. 6(1)(b) contract"),
        ("classification", "pii"),
    ):
        catalog.assertion_set(
            dataset_id=applications.pk,
            attribute=attribute,
            value=value,
            actor=STAFF,
            reason="data protection register entry 12",
        )
    catalog.assertion_set(
        dataset_id=applications.pk,
        field="full_name",
        attribute="classification",
        value="pii",
        actor=STAFF,
        reason="direct identifier",
    )
    if declarations:
        for field, value in (
            ("human_oversight", "Loan officers review every score below 600 before a decision is sent."),
            ("instructions_for_use", "See the deployer manual CS-3, chapter 2."),
            ("product_photos", "Not applicable: the system is not a component of a physical product."),
            ("cybersecurity", "Model endpoint behind mTLS; weights signed; quarterly penetration tests."),
        ):
            tick()
            catalog.system_declare(system_id=system.pk, field=field, value=value, actor=STAFF, reason="initial")
    return Scenario(system=system, seq_after_lineage=seq_after_lineage, seq=LedgerHead.objects.get(id=1).seq)
