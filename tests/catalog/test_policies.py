"""The built-in policy pack on real lineage posted through the intake."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from catalog.models import AISystem, Finding
from catalog.policies import policy_revise
from catalog.services import assertion_set, system_member_add, system_update
from lineage.models import Dataset
from tests.catalog.conftest import Ingest, ds, job
from tests.factories import AISystemFactory, dataset, governed, later, quality_facet, run_event, tracemark_facet

pytestmark = pytest.mark.django_db
Evaluate = Callable[[AISystem], list[Finding]]

DE, FR, US = "s3://lake-fra", "s3://lake-paris", "s3://lake-virginia"
DOCUMENTED = {"license": "CC-BY-4.0", "origin": "collected", "classifications": ["confidential"]}


def keys(findings: list[Finding], policy: str) -> list[str]:
    return [f.item for f in findings if f.policy_key == policy]


def build(ingest: Ingest, *, bureau_jurisdiction: str = "FR", state: str = "COMPLETE", **bureau: object) -> AISystem:
    """Applications (DE) + bureau data → features → train → model → evaluate; serve the model."""
    applications = governed(DE, "applications", ("id", "iban"), jurisdiction="DE", legalBasis="contract", **DOCUMENTED)
    bureau_ds = governed(FR, "bureau", ("id", "score"), jurisdiction=bureau_jurisdiction, **(DOCUMENTED | bureau))
    features = governed("s3://features-eu", "features", jurisdiction="DE", **DOCUMENTED)
    model = governed("mlflow://eu", "credit/3", jurisdiction="DE")
    model["facets"]["tracemark_aiModel"] = tracemark_facet("AIModelDatasetFacet", name="credit")
    ingest(
        run_event(job="load", inputs=[], outputs=[applications, bureau_ds]),
        run_event(job="features", inputs=[applications, bureau_ds], outputs=[features], when=later(10)),
        run_event(
            namespace="ml://eu", job="train", inputs=[features], outputs=[model], when=later(20), event_type=state
        ),
        run_event(namespace="ml://eu", job="evaluate", inputs=[model, features], outputs=[], when=later(30)),
        run_event(namespace="k8s://eu", job="serve", inputs=[model], outputs=[], when=later(40)),
    )
    system = AISystemFactory(slug="credit", allowed_jurisdictions=["EU"])
    for role, ns, name in (
        ("training_job", "ml://eu", "train"),
        ("evaluation_job", "ml://eu", "evaluate"),
        ("serving_job", "k8s://eu", "serve"),
    ):
        system_member_add(system_id=system.pk, role=role, job_id=job(ns, name).pk, actor="alice")
    return system


def test_compliant_factory_has_no_findings_except_missing_quality_checks(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest)

    findings = evaluate(system)

    assert {f.policy_key for f in findings} == {"data-quality-assertions"}


def test_dataset_upstream_outside_allowed_jurisdictions_is_a_residency_finding(
    ingest: Ingest, evaluate: Evaluate
) -> None:
    system = build(ingest, bureau_jurisdiction="US")

    findings = evaluate(system)

    (finding,) = [f for f in findings if f.policy_key == "data-residency"]
    assert finding.item == f"dataset:{FR}:bureau"
    assert finding.evidence["path"] == [
        f"dataset:{FR}:bureau",
        "job:airflow://eu:features",
        "dataset:s3://features-eu:features",
        "job:ml://eu:train",
        "system:credit",
    ]
    assert finding.evidence["jurisdiction"][0]["source"] == "facet"


def test_unknown_jurisdiction_is_a_finding_unless_the_policy_says_otherwise(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest)
    mystery = dataset("s3://mystery", "extra")
    ingest(run_event(namespace="ml://eu", job="train", inputs=[mystery], outputs=[dataset("mlflow://eu", "credit/3")]))
    assert keys(evaluate(system), "data-residency") == ["dataset:s3://mystery:extra"]

    policy_revise(key="data-residency", actor="dpo", parameters={"unknown_is_finding": False})

    assert keys(evaluate(system), "data-residency") == []


def test_undocumented_training_data_is_a_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest, license="")

    findings = evaluate(system)

    (finding,) = [f for f in findings if f.policy_key == "documented-training-data"]
    assert finding.item == f"dataset:{FR}:bureau"
    assert finding.evidence["missing"] == ["license"]


def test_personal_data_without_legal_basis_reaching_training_is_a_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest, fields={"id": {"classifications": ["pii"]}})

    findings = evaluate(system)

    items = keys(findings, "personal-data-legal-basis")
    assert f"dataset:{FR}:bureau" in items
    assert f"dataset:{DE}:applications" not in items


def test_legal_basis_recorded_by_staff_clears_the_personal_data_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest, fields={"id": {"classifications": ["pii"]}})
    evaluate(system)
    for dataset_id in Dataset.objects.values_list("pk", flat=True):
        assertion_set(
            dataset_id=dataset_id, attribute="legal_basis", value="Art. 6(1)(f)", actor="dpo", reason="LIA 12"
        )

    findings = evaluate(system)

    assert keys(findings, "personal-data-legal-basis") == []
    assert Finding.objects.filter(policy_key="personal-data-legal-basis", status="resolved").exists()


def test_failed_quality_assertions_on_training_data_are_a_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest)
    features = ds("s3://features-eu", "features")
    system_member_add(system_id=system.pk, role="training_data", dataset_id=features.pk, actor="alice")
    checked = dataset("s3://features-eu", "features")
    checked["inputFacets"] = {"dataQualityAssertions": quality_facet(("not_null(id)", True), ("unique(id)", False))}
    ingest(run_event(namespace="ml://eu", job="validate", inputs=[checked], outputs=[], when=later(60)))

    findings = evaluate(system)

    (finding,) = [f for f in findings if f.policy_key == "data-quality-assertions"]
    assert finding.evidence["failed"] == [{"assertion": "unique(id)", "success": False}]


def test_passing_quality_assertions_on_the_latest_version_leave_no_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest)
    features = ds("s3://features-eu", "features")
    system_member_add(system_id=system.pk, role="training_data", dataset_id=features.pk, actor="alice")
    checked = dataset("s3://features-eu", "features")
    checked["inputFacets"] = {"dataQualityAssertions": quality_facet(("not_null(id)", True))}
    ingest(run_event(namespace="ml://eu", job="validate", inputs=[checked], outputs=[], when=later(60)))

    assert keys(evaluate(system), "data-quality-assertions") == []


def test_model_from_a_failed_training_run_is_a_traceability_finding(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest, state="FAIL")

    findings = evaluate(system)

    (finding,) = [f for f in findings if f.policy_key == "deployed-model-traceability"]
    assert "COMPLETE training run" in finding.message


def test_failed_latest_upstream_run_is_a_finding_and_a_later_success_resolves_it(
    ingest: Ingest, evaluate: Evaluate
) -> None:
    system = build(ingest)
    ingest(run_event(job="load", event_type="FAIL", inputs=[], outputs=[dataset(DE, "applications")], when=later(90)))
    assert keys(evaluate(system), "failed-upstream-runs") == ["job:airflow://eu:load"]

    ingest(run_event(job="load", inputs=[], outputs=[dataset(DE, "applications")], when=later(120)))

    assert keys(evaluate(system), "failed-upstream-runs") == []
    assert Finding.objects.get(policy_key="failed-upstream-runs").status == "resolved"


def test_high_risk_system_keeping_logs_under_six_months_is_a_finding(evaluate: Evaluate) -> None:
    system = AISystemFactory(log_retention_days=90, status="development")

    findings = evaluate(system)

    assert [f.policy_key for f in findings] == ["log-retention"]


def test_minimal_risk_system_needs_no_log_retention(evaluate: Evaluate) -> None:
    system = AISystemFactory(risk_tier="minimal", log_retention_days=None)

    assert keys(evaluate(system), "log-retention") == []


def test_system_without_allowed_jurisdictions_is_a_residency_finding(evaluate: Evaluate) -> None:
    system = AISystemFactory(allowed_jurisdictions=[])

    assert keys(evaluate(system), "data-residency") == [""]


def test_widening_allowed_jurisdictions_resolves_residency(ingest: Ingest, evaluate: Evaluate) -> None:
    system = build(ingest, bureau_jurisdiction="US")
    evaluate(system)

    system_update(system_id=system.pk, actor="alice", reason="SCCs signed", allowed_jurisdictions=["EU", "US"])

    assert keys(evaluate(system), "data-residency") == []
