"""Finding lifecycle: open → resolved when a later evaluation passes; waived by a named person with
a reason and an expiry, reopened when it lapses. Every transition is a ledger entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.exceptions import CatalogInvalid
from catalog.models import Finding, FindingStatus, Policy
from catalog.policies import Violation
from catalog.services import _record


@dataclass(frozen=True)
class Transition:
    finding_id: int
    item: str
    from_status: str
    to_status: str

    def as_dict(self) -> dict[str, Any]:
        return {"finding": self.finding_id, "item": self.item, "from": self.from_status, "to": self.to_status}


def findings_reconcile(
    *,
    policy: Policy,
    subject: str,
    system_id: int | None,
    violations: Sequence[Violation],
    evaluated_seq: int,
) -> list[Transition]:
    """Bring the findings of (policy, subject) in line with one evaluation's violations.

    The caller holds a lock on the subject (its system or job row), so two evaluations of the
    same subject never interleave. Running it twice with the same violations adds no transition.
    """
    assert transaction.get_connection().in_atomic_block, "reconcile inside the subject's lock"
    existing = {f.item: f for f in Finding.objects.select_for_update().filter(policy_key=policy.key, subject=subject)}
    now = timezone.now()
    transitions: list[tuple[Finding, str, str]] = []
    seen: set[str] = set()
    for violation in violations:
        if violation.item in seen:
            continue
        seen.add(violation.item)
        finding = existing.get(violation.item)
        if finding is None:
            finding = Finding(
                policy=policy,
                policy_key=policy.key,
                subject=subject,
                item=violation.item,
                system_id=system_id,
                severity=policy.severity,
                status=FindingStatus.OPEN,
                result=violation.result,
                message=violation.message,
                evidence=violation.evidence,
                evaluated_seq=evaluated_seq,
                opened_seq=evaluated_seq,
            )
            transitions.append((finding, "new", FindingStatus.OPEN))
            continue
        before = finding.status
        if before == FindingStatus.RESOLVED or (
            before == FindingStatus.WAIVED and finding.waiver_expires_at and finding.waiver_expires_at <= now
        ):
            finding.status = FindingStatus.OPEN
            finding.opened_seq = evaluated_seq
            finding.resolved_seq = None
            transitions.append((finding, before, FindingStatus.OPEN))
        changed = (
            finding.policy_id != policy.pk
            or finding.message != violation.message
            or finding.evidence != violation.evidence
            or finding.result != violation.result
            or finding.severity != policy.severity
        )
        finding.policy, finding.severity = policy, policy.severity
        finding.message, finding.evidence, finding.result = violation.message, violation.evidence, violation.result
        # evaluated_seq moves only when the result changes: an evaluation that finds what the last
        # one found writes nothing, so running it twice changes nothing.
        if changed or before != finding.status:
            finding.evaluated_seq = evaluated_seq
            if before == finding.status:
                finding.save()
    for item, finding in existing.items():
        if item in seen or finding.status == FindingStatus.RESOLVED:
            continue
        before = finding.status
        finding.status, finding.result = FindingStatus.RESOLVED, "pass"
        finding.resolved_seq = finding.evaluated_seq = evaluated_seq
        transitions.append((finding, before, FindingStatus.RESOLVED))
    if not transitions:
        return []
    _record(
        action="findings.evaluated",
        subject=subject,
        actor="tracemark",
        details={
            "policy": policy.label,
            "evaluated_seq": evaluated_seq,
            "transitions": [
                {"item": f.item, "from": before, "to": after, "message": f.message} for f, before, after in transitions
            ],
        },
    )
    for finding, _before, _after in transitions:
        finding.save()
    return [Transition(f.pk, f.item, before, after) for f, before, after in transitions]


@transaction.atomic
def finding_waive(*, finding_id: int, actor: str, reason: str, expires_at: datetime) -> Finding:
    """Accept a finding for a while: who, why and until when are required and go to the ledger."""
    if not actor.strip() or not reason.strip():
        raise CatalogInvalid("a waiver needs a named person and a reason")
    if expires_at <= timezone.now():
        raise CatalogInvalid("a waiver must expire in the future")
    finding = Finding.objects.select_for_update().get(pk=finding_id)
    if finding.status == FindingStatus.RESOLVED:
        raise CatalogInvalid("the finding is resolved; there is nothing to waive")
    _record(
        action="finding.waived",
        subject=finding.subject,
        actor=actor,
        details={
            "finding": finding.pk,
            "policy": finding.policy_key,
            "item": finding.item,
            "from": finding.status,
            "reason": reason,
            "expires_at": expires_at.isoformat(),
        },
    )
    finding.status = FindingStatus.WAIVED
    finding.waived_by, finding.waiver_reason, finding.waiver_expires_at = actor, reason, expires_at
    finding.save()
    return finding


def waivers_expire(*, now: datetime | None = None) -> int:
    """Reopen findings whose waiver has lapsed (idempotent); return how many."""
    now = now or timezone.now()
    count = 0
    for finding_id in Finding.objects.filter(status=FindingStatus.WAIVED, waiver_expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            finding = Finding.objects.select_for_update().get(pk=finding_id)
            if finding.status != FindingStatus.WAIVED or finding.waiver_expires_at > now:
                continue
            _record(
                action="finding.waiver_expired",
                subject=finding.subject,
                actor="tracemark",
                details={"finding": finding.pk, "policy": finding.policy_key, "item": finding.item, "to": "open"},
            )
            finding.status = FindingStatus.OPEN
            finding.save(update_fields=["status", "updated_at"])
            count += 1
    return count
