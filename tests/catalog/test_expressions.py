"""Staff rules as CEL expressions over the documented context."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.exceptions import ExpressionInvalid
from catalog.expressions import expression_evaluate
from catalog.models import Finding, Policy
from catalog.policies import policy_revise
from tests.catalog.conftest import Ingest
from tests.factories import AISystemFactory, governed, run_event

pytestmark = pytest.mark.django_db


def test_expression_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ExpressionInvalid):
        policy_revise(key="broken", actor="dpo", title="Broken", expression="system.risk_tier ==", subject="system")


def test_python_code_in_an_expression_is_not_run() -> None:
    outcome = expression_evaluate("__import__('os').system('id') == 0", {"system": {}})

    assert not outcome.passed
    assert outcome.error.startswith("evaluation failed")


def test_dataset_rule_makes_a_finding_per_failing_upstream_dataset(ingest: Ingest, evaluate) -> None:
    ingest(
        run_event(
            inputs=[governed("s3://a", "scraped", origin="scraped"), governed("s3://a", "licensed", origin="licensed")],
            outputs=[],
        )
    )
    system = AISystemFactory(status="development")
    from catalog.services import system_member_add
    from tests.catalog.conftest import job

    system_member_add(system_id=system.pk, role="training_job", job_id=job("airflow://eu", "etl.load").pk, actor="a")
    policy_revise(
        key="no-scraped-data",
        actor="dpo",
        title="No scraped data in high-risk training",
        subject=Policy.Subject.DATASET,
        expression='dataset.origin != "scraped"',
        severity="high",
    )

    evaluate(system)

    finding = Finding.objects.get(policy_key="no-scraped-data")
    assert finding.item == "dataset:s3://a:scraped"
    assert finding.evidence["dataset"]["origin"] == "scraped"


def test_system_rule_sees_the_system_and_its_datasets(evaluate) -> None:
    system = AISystemFactory(status="development", provider="")
    policy_revise(key="provider-named", actor="dpo", title="Provider named", expression='system.provider != ""')

    evaluate(system)

    assert Finding.objects.filter(policy_key="provider-named", status="open").count() == 1


def test_expression_that_fails_to_evaluate_is_an_error_finding(evaluate) -> None:
    system = AISystemFactory(status="development")
    policy_revise(key="typo", actor="dpo", title="Typo", expression="system.no_such_field == 1")

    evaluate(system)

    assert Finding.objects.get(policy_key="typo").result == "error"


def test_revising_a_policy_adds_a_version_and_findings_cite_it(evaluate) -> None:
    system = AISystemFactory(status="development", provider="")
    policy_revise(key="provider-named", actor="dpo", title="Provider named", expression='system.provider != ""')
    evaluate(system)

    policy_revise(key="provider-named", actor="dpo", expression="size(system.provider) > 0", severity="low")
    evaluate(system)

    finding = Finding.objects.get(policy_key="provider-named")
    assert (finding.policy.version, finding.severity) == (2, "low")
    assert Policy.objects.filter(key="provider-named").count() == 2


@given(st.text(max_size=40))
def test_any_string_data_never_escapes_the_evaluator(value: str) -> None:
    outcome = expression_evaluate('dataset.name == "x" || dataset.name != "x"', {"dataset": {"name": value}})

    assert outcome.passed
