"""Evaluate the current policies for one system or job and reconcile its findings.

Checks read outside any transaction (they may take a while, and on SQLite a write transaction
would hold the database); only the reconciliation runs in a short transaction holding the
subject's row lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from catalog.expressions import expression_evaluate
from catalog.findings import Transition, findings_reconcile
from catalog.models import AISystem, FederatedRound, Finding, FindingStatus, Policy
from catalog.patterns import glob_match
from catalog.policies import CHECKS, JobSubject, SystemSubject, Violation, latest_runs, policy_pack_install
from catalog.selectors import Governance, classification_flags, governance_get, system_energy
from catalog.services import ledger_head_seq, taxonomy_install
from lineage.models import Dataset, Job, RunDataset

logger = logging.getLogger(__name__)


@dataclass
class Summary:
    subjects: int = 0
    policies: int = 0
    violations: int = 0
    transitions: list[Transition] = field(default_factory=list)

    def add(self, other: Summary) -> None:
        self.subjects += other.subjects
        self.policies += other.policies
        self.violations += other.violations
        self.transitions += other.transitions


def catalog_bootstrap() -> None:
    """Make sure the taxonomy and the built-in policy pack exist (cheap when they do)."""
    taxonomy_install()
    policy_pack_install()


def _current_policies(subjects: Iterable[str]) -> list[Policy]:
    return list(Policy.objects.filter(is_current=True, enabled=True, subject__in=list(subjects)).order_by("key"))


def _system_in_scope(policy: Policy, system: AISystem) -> bool:
    scope = policy.scope or {}
    if scope.get("systems") and system.slug not in scope["systems"]:
        return False
    return not (scope.get("risk_tiers") and system.risk_tier not in scope["risk_tiers"])


def _namespace_in_scope(policy: Policy, namespace: str) -> bool:
    patterns = (policy.scope or {}).get("namespaces") or []
    return not patterns or any(glob_match(namespace, p) for p in patterns)


# --- Expression contexts ------------------------------------------------------------------------


def _system_context(system: AISystem) -> dict[str, Any]:
    return {
        "slug": system.slug,
        "name": system.name,
        "risk_tier": system.risk_tier,
        "annex_iii_area": system.annex_iii_area,
        "status": system.status,
        "provider": system.provider,
        "deployer": system.deployer,
        "allowed_jurisdictions": list(system.allowed_jurisdictions or []),
        "log_retention_days": system.log_retention_days,
    }


def _dataset_context(namespace: str, name: str, gov: Governance, personal: set[str]) -> dict[str, Any]:
    node = f"dataset:{namespace}:{name}"
    classes = sorted(gov.all_classifications())
    return {
        "node": node,
        "namespace": namespace,
        "name": name,
        "jurisdiction": gov.first("jurisdiction"),
        "license": gov.first("license"),
        "origin": gov.first("origin"),
        "legal_basis": gov.first("legal_basis"),
        "retention": gov.first("retention"),
        "classifications": classes,
        "columns": {c: sorted(v.value for v in vals.get("classification", [])) for c, vals in gov.columns.items()},
        "personal_data": bool(set(classes) & personal),
    }


def _evaluate_expression(policy: Policy, subject: SystemSubject) -> list[Violation]:
    personal = {k for k, f in subject.flags.items() if f.personal_data}
    system = _system_context(subject.system)
    datasets = []
    parts = {
        pk: (ns, name)
        for pk, ns, name in Dataset.objects.filter(pk__in=list(subject.walk.dataset_ids)).values_list(
            "pk", "namespace__name", "name"
        )
    }
    for dataset_id in sorted(subject.walk.dataset_ids):
        ctx = _dataset_context(*parts[dataset_id], subject.governance[dataset_id], personal)
        ctx["depth"] = subject.walk.depth[dataset_id]
        ctx["roles"] = sorted(subject.composition.datasets.get(dataset_id, ()))
        datasets.append((dataset_id, ctx))
    if policy.subject == Policy.Subject.DATASET:
        found = []
        for dataset_id, ctx in datasets:
            if not _namespace_in_scope(policy, ctx["namespace"]):
                continue
            outcome = expression_evaluate(policy.expression, {"system": system, "dataset": ctx})
            if not outcome.passed:
                found.append(
                    Violation(
                        ctx["node"],
                        outcome.error or f"{ctx['node']} does not satisfy: {policy.expression}",
                        {"dataset": ctx, "path": subject.path(subject.walk, dataset_id)},
                        result="error" if outcome.error else "fail",
                    )
                )
        return found
    jobs = [
        {
            "node": subject.job_node(job_id),
            "latest_state": state,
            "roles": sorted(subject.composition.jobs.get(job_id, ())),
        }
        for job_id, (_run, state) in sorted(
            latest_runs(subject.walk.jobs | set(subject.composition.jobs), subject.as_of_seq).items()
        )
    ]
    context = {
        "system": system,
        "datasets": [ctx for _, ctx in datasets],
        "jobs": jobs,
        "energy": system_energy(system_id=subject.system.pk, as_of_seq=subject.as_of_seq).as_dict(),
        "open_findings": Finding.objects.filter(system=subject.system, status=FindingStatus.OPEN).count(),
    }
    outcome = expression_evaluate(policy.expression, context)
    if outcome.passed:
        return []
    return [
        Violation(
            "",
            outcome.error or f"{subject.key} does not satisfy: {policy.expression}",
            {"expression": policy.expression},
            result="error" if outcome.error else "fail",
        )
    ]


def _job_expression(policy: Policy, subject: JobSubject) -> list[Violation]:
    edges = list(
        RunDataset.objects.filter(run__job=subject.job, first_seq__lte=subject.as_of_seq)
        .values_list("dataset_id", "direction", "dataset__namespace__name", "dataset__name")
        .distinct()
    )
    governance = governance_get(dataset_ids={e[0] for e in edges}, as_of_seq=subject.as_of_seq)
    personal = {k for k, f in classification_flags().items() if f.personal_data}
    sides: dict[str, list[dict[str, Any]]] = {"in": [], "out": []}
    for dataset_id, direction, ns, name in edges:
        sides[direction].append(_dataset_context(ns, name, governance[dataset_id], personal))
    state = latest_runs({subject.job.pk}, subject.as_of_seq).get(subject.job.pk)
    context = {
        "job": {
            "node": subject.key,
            "namespace": subject.job.namespace.name,
            "name": subject.job.name,
            "latest_state": state[1] if state else "",
            "inputs": sides["in"],
            "outputs": sides["out"],
            "federated": FederatedRound.objects.filter(run__job=subject.job).exists(),
        }
    }
    outcome = expression_evaluate(policy.expression, context)
    if outcome.passed:
        return []
    return [
        Violation(
            "",
            outcome.error or f"{subject.key} does not satisfy: {policy.expression}",
            {"expression": policy.expression},
            result="error" if outcome.error else "fail",
        )
    ]


# --- Entry points -------------------------------------------------------------------------------


def system_evaluate(*, system_id: int) -> Summary:
    """Evaluate every current policy about systems (and their upstream datasets) for one system."""
    summary = Summary()
    system = AISystem.objects.filter(pk=system_id).first()
    if system is None:
        return summary
    head = ledger_head_seq()
    subject = SystemSubject(system=system, as_of_seq=head)
    results: list[tuple[Policy, list[Violation]]] = []
    for policy in _current_policies([Policy.Subject.SYSTEM, Policy.Subject.DATASET]):
        if not _system_in_scope(policy, system):
            continue
        if policy.kind == Policy.Kind.BUILTIN:
            violations = CHECKS[policy.check_name](policy, subject)
        else:
            violations = _evaluate_expression(policy, subject)
        results.append((policy, violations))
    with transaction.atomic():
        if not AISystem.objects.select_for_update().filter(pk=system_id).exists():
            return summary
        for policy, violations in results:
            summary.transitions += findings_reconcile(
                policy=policy, subject=subject.key, system_id=system_id, violations=violations, evaluated_seq=head
            )
            summary.violations += len(violations)
    summary.subjects, summary.policies = 1, len(results)
    return summary


def jobs_evaluate(*, job_ids: Iterable[int]) -> Summary:
    """Evaluate every current policy about jobs for each of the given jobs."""
    summary = Summary()
    policies = _current_policies([Policy.Subject.JOB])
    if not policies:
        return summary
    head = ledger_head_seq()
    for job in Job.objects.filter(pk__in=list(job_ids)).select_related("namespace"):
        subject = JobSubject(job=job, as_of_seq=head)
        results = []
        for policy in policies:
            if not _namespace_in_scope(policy, job.namespace.name):
                continue
            if policy.kind == Policy.Kind.BUILTIN:
                results.append((policy, CHECKS[policy.check_name](policy, subject)))
            else:
                results.append((policy, _job_expression(policy, subject)))
        with transaction.atomic():
            _lock_job_evaluation(job.pk)
            for policy, violations in results:
                summary.transitions += findings_reconcile(
                    policy=policy, subject=subject.key, system_id=None, violations=violations, evaluated_seq=head
                )
                summary.violations += len(violations)
        summary.subjects += 1
        summary.policies += len(results)
    return summary


def catalog_evaluate_all(*, system_slugs: Iterable[str] | None = None) -> Summary:
    """Synchronously catch up and re-check everything (or the named systems): the sweep, in-process.

    Used by ``evaluate_policies`` and ``seed_demo``; the Celery sweep does the same in fanned-out
    tasks.
    """
    from catalog.facets import facets_catch_up
    from catalog.findings import waivers_expire
    from catalog.propagation import classifications_propagate
    from catalog.services import governance_rules_apply, members_apply_rules

    catalog_bootstrap()
    facets_catch_up()
    members_apply_rules()
    governance_rules_apply()
    classifications_propagate()
    waivers_expire()
    summary = Summary()
    systems = AISystem.objects.order_by("pk")
    if system_slugs is not None:
        systems = systems.filter(slug__in=list(system_slugs))
    else:
        job_ids = list(Job.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(job_ids), 500):
            summary.add(jobs_evaluate(job_ids=job_ids[start : start + 500]))
    for system_id in systems.values_list("pk", flat=True):
        summary.add(system_evaluate(system_id=system_id))
    return summary


# Advisory-lock key space of job evaluations (PostgreSQL); the job's id is added to it.
_JOB_EVALUATION_LOCKS = 1 << 48


def _lock_job_evaluation(job_id: int) -> None:
    """Let one evaluation at a time reconcile a job's findings, until the transaction ends.

    Not a row lock on the job: the graph fold updates job rows while it holds other rows, and a
    ``FOR UPDATE`` here, taken before the findings are written, formed a deadlock with it under
    load. An advisory lock orders evaluations of one job and nothing else. On SQLite the
    transaction already holds the database's single write lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_JOB_EVALUATION_LOCKS + job_id])
