"""Finding lifecycle: open, resolved, waived, reopened — each transition in the ledger."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from catalog.evaluation import system_evaluate
from catalog.exceptions import CatalogInvalid
from catalog.findings import finding_waive, waivers_expire
from catalog.models import Finding
from catalog.services import system_update
from lineage.models import LedgerEntry
from tests.factories import AISystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding(evaluate) -> Finding:
    system = AISystemFactory(slug="chatbot", status="development", log_retention_days=30)
    evaluate(system)
    return Finding.objects.get(policy_key="log-retention")


def _decisions(action: str) -> list[dict]:
    payloads = [
        orjson.loads(p) for p in LedgerEntry.objects.filter(kind="governance").values_list("payload", flat=True)
    ]
    return [p for p in payloads if p["action"] == action]


def test_new_finding_is_open_and_its_opening_is_in_the_ledger(finding: Finding) -> None:
    (decision,) = _decisions("findings.evaluated")

    assert finding.status == "open"
    assert finding.policy.label == "log-retention@1"
    assert decision["subject"] == "system:chatbot"
    assert decision["details"]["transitions"][0]["to"] == "open"
    assert finding.evaluated_seq < LedgerEntry.objects.order_by("-seq").first().seq


def test_evaluating_twice_changes_nothing(finding: Finding) -> None:
    ledger = LedgerEntry.objects.count()

    system_evaluate(system_id=finding.system_id)

    assert LedgerEntry.objects.count() == ledger
    assert Finding.objects.get(pk=finding.pk).updated_at == finding.updated_at


def test_finding_is_resolved_when_a_later_evaluation_passes(finding: Finding) -> None:
    system_update(system_id=finding.system_id, actor="alice", log_retention_days=400)

    system_evaluate(system_id=finding.system_id)

    finding.refresh_from_db()
    assert finding.status == "resolved"
    assert finding.resolved_seq == finding.evaluated_seq
    assert _decisions("findings.evaluated")[-1]["details"]["transitions"][0]["to"] == "resolved"


def test_resolved_finding_reopens_when_the_problem_comes_back(finding: Finding) -> None:
    system_update(system_id=finding.system_id, actor="alice", log_retention_days=400)
    system_evaluate(system_id=finding.system_id)
    system_update(system_id=finding.system_id, actor="alice", log_retention_days=7)

    system_evaluate(system_id=finding.system_id)

    finding.refresh_from_db()
    assert finding.status == "open"
    assert finding.resolved_seq is None


def test_waiver_names_the_person_the_reason_and_the_expiry_in_the_ledger(finding: Finding) -> None:
    expires = timezone.now() + timedelta(days=30)

    finding_waive(finding_id=finding.pk, actor="carol", reason="logs archived off-site", expires_at=expires)

    finding.refresh_from_db()
    assert (finding.status, finding.waived_by, finding.waiver_reason) == ("waived", "carol", "logs archived off-site")
    (decision,) = _decisions("finding.waived")
    assert decision["actor"] == "carol"
    assert decision["details"]["expires_at"] == expires.isoformat()


def test_waiver_without_a_reason_is_refused(finding: Finding) -> None:
    with pytest.raises(CatalogInvalid):
        finding_waive(finding_id=finding.pk, actor="carol", reason=" ", expires_at=timezone.now() + timedelta(days=1))


def test_waiver_that_expired_in_the_past_is_refused(finding: Finding) -> None:
    with pytest.raises(CatalogInvalid):
        finding_waive(finding_id=finding.pk, actor="carol", reason="r", expires_at=timezone.now() - timedelta(days=1))


def test_waived_finding_stays_waived_while_the_problem_persists(finding: Finding) -> None:
    finding_waive(finding_id=finding.pk, actor="carol", reason="r", expires_at=timezone.now() + timedelta(days=1))

    system_evaluate(system_id=finding.system_id)

    assert Finding.objects.get(pk=finding.pk).status == "waived"


def test_waived_finding_reopens_when_the_waiver_expires(finding: Finding) -> None:
    finding_waive(finding_id=finding.pk, actor="carol", reason="r", expires_at=timezone.now() + timedelta(days=1))

    reopened = waivers_expire(now=timezone.now() + timedelta(days=2))

    assert reopened == 1
    assert Finding.objects.get(pk=finding.pk).status == "open"
    assert _decisions("finding.waiver_expired")[0]["details"]["to"] == "open"


def test_waived_finding_is_resolved_when_the_problem_goes_away(finding: Finding) -> None:
    finding_waive(finding_id=finding.pk, actor="carol", reason="r", expires_at=timezone.now() + timedelta(days=1))
    system_update(system_id=finding.system_id, actor="alice", log_retention_days=400)

    system_evaluate(system_id=finding.system_id)

    assert Finding.objects.get(pk=finding.pk).status == "resolved"
