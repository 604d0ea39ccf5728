"""Policies: the built-in pack, versioned revisions, and the built-in checks.

A check gets a ``Subject`` (one system or one job, with lazily loaded lineage and governance
facts as of the evaluation's ledger sequence) and returns the violations it sees. Checks only
read; ``catalog.findings`` turns violations into findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import Max

from catalog.exceptions import CatalogInvalid
from catalog.expressions import expression_compile
from catalog.jurisdictions import jurisdiction_within, jurisdiction_zone
from catalog.models import (
    AISystem,
    Attribute,
    FederatedRound,
    GovernanceAssertion,
    MemberRole,
    Policy,
    QualityResult,
    Severity,
)
from catalog.selectors import Composition, Governance, classification_flags, governance_get, system_composition
from catalog.services import _record, catalog_refresh_after_commit
from catalog.taxonomy import ClassificationFlags
from catalog.traversal import Walk, node_names, path_to, upstream
from lineage.folding import run_current_state
from lineage.models import Job, Run, RunDataset, RunState, RunStateChange

# --- The built-in pack ----------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltinPolicy:
    key: str
    title: str
    article: str
    severity: str
    check_name: str
    subject: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


BUILTIN_PACK: tuple[BuiltinPolicy, ...] = (
    BuiltinPolicy(
        "data-residency",
        "Data stays in the system's allowed jurisdictions",
        "GDPR Chapter V; AI Act Art. 10(2)(b)",
        Severity.HIGH,
        "data_residency",
        Policy.Subject.SYSTEM,
        "Every dataset upstream of the system lives in one of its allowed jurisdictions. A dataset "
        "whose jurisdiction is unknown is a finding unless `unknown_is_finding` is false.",
        {"unknown_is_finding": True},
    ),
    BuiltinPolicy(
        "cross-border-transfer",
        "No unreviewed cross-border transfer of non-aggregated data",
        "GDPR Art. 44-49",
        Severity.HIGH,
        "cross_border_transfer",
        Policy.Subject.JOB,
        "A job that reads data in one transfer zone and writes non-aggregated data in another, or a "
        "federated round that ships raw data between sites in different zones.",
        {"zones": ["EU"], "exempt_classifications": ["aggregated", "synthetic", "public"]},
    ),
    BuiltinPolicy(
        "documented-training-data",
        "Training data is documented (license, origin, classification)",
        "AI Act Art. 10(2)(b), Annex IV 2(d); Art. 53(1)(d)",
        Severity.MEDIUM,
        "documented_training_data",
        Policy.Subject.SYSTEM,
        "Everything upstream of the system's models has a license, an origin and a classification.",
        {"require": ["license", "origin", "classification"]},
    ),
    BuiltinPolicy(
        "personal-data-legal-basis",
        "Personal data reaches training only with a legal basis",
        "GDPR Art. 6 and 9; AI Act Art. 10(5)",
        Severity.HIGH,
        "personal_data_legal_basis",
        Policy.Subject.SYSTEM,
        "A dataset upstream of training that holds personal data (itself or in a column, also when "
        "propagated) must have a legal basis recorded.",
    ),
    BuiltinPolicy(
        "data-quality-assertions",
        "Data-quality assertions pass on the latest training, validation and test data",
        "AI Act Art. 10(3)",
        Severity.MEDIUM,
        "data_quality_assertions",
        Policy.Subject.SYSTEM,
        "The latest version of each training, validation and test dataset was checked and every assertion passed.",
    ),
    BuiltinPolicy(
        "deployed-model-traceability",
        "Deployed models trace to a completed training run and an evaluation",
        "AI Act Art. 11, Annex IV 2(g)",
        Severity.HIGH,
        "deployed_model_traceability",
        Policy.Subject.SYSTEM,
        "Each model a deployed system serves was written by a COMPLETE training run and read by a "
        "COMPLETE evaluation run.",
    ),
    BuiltinPolicy(
        "failed-upstream-runs",
        "No failed or aborted runs upstream",
        "AI Act Art. 10(2)(c), Art. 15",
        Severity.MEDIUM,
        "failed_upstream_runs",
        Policy.Subject.SYSTEM,
        "The latest run of every job upstream of the system did not FAIL or ABORT.",
    ),
    BuiltinPolicy(
        "log-retention",
        "Logs are kept for at least six months",
        "AI Act Art. 19(1), Art. 26(6)",
        Severity.HIGH,
        "log_retention",
        Policy.Subject.SYSTEM,
        "High-risk systems keep automatically generated logs for at least `min_days` days.",
        {"min_days": 183, "risk_tiers": ["high-risk"]},
    ),
)


def policy_pack_install() -> int:
    """Add the built-in policies that are missing, as version 1 (idempotent). Returns how many."""
    known = set(Policy.objects.filter(key__in=[p.key for p in BUILTIN_PACK]).values_list("key", flat=True))
    missing = [p for p in BUILTIN_PACK if p.key not in known]
    if not missing:
        return 0
    with transaction.atomic():
        entry = _record(
            action="policy.pack_installed",
            subject="catalog:policies",
            actor="tracemark",
            details={"policies": [{"key": p.key, "version": 1, "check": p.check_name} for p in missing]},
        )
        Policy.objects.bulk_create(
            [
                Policy(
                    key=p.key,
                    version=1,
                    title=p.title,
                    description=p.description,
                    article=p.article,
                    severity=p.severity,
                    kind=Policy.Kind.BUILTIN,
                    check_name=p.check_name,
                    subject=p.subject,
                    parameters=p.parameters,
                    created_by="tracemark",
                    first_seq=entry.seq,
                )
                for p in missing
            ],
            ignore_conflicts=True,
        )
    return len(missing)


POLICY_FIELDS = (
    "title",
    "description",
    "article",
    "severity",
    "kind",
    "check_name",
    "subject",
    "expression",
    "parameters",
    "scope",
    "enabled",
)


@transaction.atomic
def policy_revise(*, key: str, actor: str, **fields: Any) -> Policy:
    """Create a policy or a new version of it; the previous version stops being current.

    Saving the same content again adds nothing.
    """
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise CatalogInvalid(f"unknown policy fields: {sorted(unknown)}")
    current = Policy.objects.select_for_update().filter(key=key, is_current=True).first()
    base = {name: getattr(current, name) for name in POLICY_FIELDS} if current else {}
    content = {**base, **fields}
    if current is not None and content == base:
        return current
    kind = content.get("kind", Policy.Kind.EXPRESSION)
    if kind == Policy.Kind.EXPRESSION:
        expression_compile(content.get("expression", ""))
        if content.get("subject", Policy.Subject.SYSTEM) not in Policy.Subject.values:
            raise CatalogInvalid("unknown subject")
    elif content.get("check_name") not in CHECKS:
        raise CatalogInvalid(f"unknown built-in check: {content.get('check_name')!r}")
    version = (Policy.objects.filter(key=key).aggregate(v=Max("version"))["v"] or 0) + 1
    entry = _record(
        action="policy.revised",
        subject=f"policy:{key}",
        actor=actor,
        details={"version": version, **dict(content.items())},
    )
    if current is not None:
        Policy.objects.filter(pk=current.pk).update(is_current=False)
    policy = Policy(key=key, version=version, created_by=actor, first_seq=entry.seq, is_current=True, **content)
    policy.full_clean(exclude=["key"])
    policy.save()
    catalog_refresh_after_commit(system_ids=AISystem.objects.values_list("pk", flat=True))
    return policy


# --- Subjects and violations ------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    item: str
    message: str
    evidence: dict[str, Any]
    result: str = "fail"  # fail | error


@dataclass
class SystemSubject:
    """One system, with its lineage facts loaded on first use, as of ``as_of_seq``."""

    system: AISystem
    as_of_seq: int

    @property
    def key(self) -> str:
        return self.system.node_id

    @cached_property
    def composition(self) -> Composition:
        return system_composition(system_id=self.system.pk, as_of_seq=self.as_of_seq)

    @cached_property
    def walk(self) -> Walk:
        return upstream(dataset_ids=self.composition.datasets, job_ids=self.composition.jobs, as_of_seq=self.as_of_seq)

    @cached_property
    def training_walk(self) -> Walk:
        """Upstream of what the models were trained on (the whole system when it names no model)."""
        comp = self.composition
        models = comp.datasets_with(MemberRole.MODEL)
        data = comp.datasets_with(MemberRole.TRAINING_DATA, MemberRole.VALIDATION_DATA, MemberRole.TEST_DATA)
        training_jobs = comp.jobs_with(MemberRole.TRAINING_JOB)
        if not (models or data or training_jobs):
            return self.walk
        walk = upstream(dataset_ids=models | data, job_ids=training_jobs, as_of_seq=self.as_of_seq)
        for model in models:  # the models themselves are not training data
            if walk.depth.get(model) == 0:
                del walk.depth[model]
        return walk

    @cached_property
    def governance(self) -> dict[int, Governance]:
        return governance_get(dataset_ids=self.walk.dataset_ids, as_of_seq=self.as_of_seq)

    @cached_property
    def flags(self) -> dict[str, ClassificationFlags]:
        return classification_flags()

    @cached_property
    def names(self) -> dict[tuple[str, int], str]:
        return node_names(dataset_ids=self.walk.dataset_ids, job_ids=self.walk.jobs | set(self.composition.jobs))

    def dataset_node(self, dataset_id: int) -> str:
        return self.names.get(("dataset", dataset_id)) or f"dataset:#{dataset_id}"

    def job_node(self, job_id: int) -> str:
        return self.names.get(("job", job_id)) or f"job:#{job_id}"

    def path(self, walk: Walk, dataset_id: int) -> list[str]:
        names = self.names
        missing = {pk for kind, pk in path_to(walk, dataset_id) if (kind, pk) not in names}
        if missing:
            names.update(node_names(dataset_ids=missing, job_ids=missing))
        return [names.get((kind, pk), f"{kind}:#{pk}") for kind, pk in path_to(walk, dataset_id)] + [self.key]


@dataclass
class JobSubject:
    job: Job
    as_of_seq: int

    @property
    def key(self) -> str:
        return self.job.node_id


Check = Callable[[Policy, Any], list[Violation]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


def _value_evidence(gov: Governance, attribute: str) -> list[dict[str, Any]]:
    return [v.as_dict() for v in gov.values.get(attribute, [])]


@check("data_residency")
def data_residency(policy: Policy, subject: SystemSubject) -> list[Violation]:
    allowed = subject.system.allowed_jurisdictions or []
    if not allowed:
        return [Violation("", "The system declares no allowed jurisdictions.", {"allowed": []})]
    unknown_is_finding = policy.parameters.get("unknown_is_finding", True)
    found = []
    for dataset_id in sorted(subject.walk.dataset_ids):
        gov = subject.governance[dataset_id]
        where = gov.first("jurisdiction")
        if where and jurisdiction_within(where, allowed):
            continue
        if not where and not unknown_is_finding:
            continue
        node = subject.dataset_node(dataset_id)
        message = (
            f"{node} lives in {where}, outside {', '.join(allowed)}." if where else f"{node} has no known jurisdiction."
        )
        found.append(
            Violation(
                node,
                message,
                {
                    "jurisdiction": _value_evidence(gov, "jurisdiction"),
                    "allowed": allowed,
                    "path": subject.path(subject.walk, dataset_id),
                },
            )
        )
    return found


@check("documented_training_data")
def documented_training_data(policy: Policy, subject: SystemSubject) -> list[Violation]:
    required = policy.parameters.get("require", ["license", "origin", "classification"])
    walk = subject.training_walk
    governance = governance_get(dataset_ids=walk.dataset_ids, as_of_seq=subject.as_of_seq)
    found = []
    for dataset_id in sorted(walk.dataset_ids):
        gov = governance[dataset_id]
        missing = [
            attr
            for attr in required
            if not (gov.all_classifications() if attr == "classification" else gov.first(attr))
        ]
        if missing:
            node = subject.dataset_node(dataset_id)
            found.append(
                Violation(
                    node,
                    f"{node} has no {', '.join(missing)}.",
                    {"missing": missing, "path": subject.path(walk, dataset_id)},
                )
            )
    return found


@check("personal_data_legal_basis")
def personal_data_legal_basis(policy: Policy, subject: SystemSubject) -> list[Violation]:
    walk = subject.training_walk
    governance = governance_get(dataset_ids=walk.dataset_ids, as_of_seq=subject.as_of_seq)
    flags = subject.flags
    found = []
    for dataset_id in sorted(walk.dataset_ids):
        gov = governance[dataset_id]
        personal = sorted(c for c in gov.all_classifications() if c in flags and flags[c].personal_data)
        if not personal or gov.first("legal_basis"):
            continue
        node = subject.dataset_node(dataset_id)
        columns = {
            column: [v.as_dict() for v in values.get("classification", []) if v.value in personal]
            for column, values in gov.columns.items()
            if any(v.value in personal for v in values.get("classification", []))
        }
        found.append(
            Violation(
                node,
                f"{node} holds personal data ({', '.join(personal)}) and reaches training without a legal basis.",
                {
                    "classifications": personal,
                    "dataset_values": [
                        v.as_dict() for v in gov.values.get("classification", []) if v.value in personal
                    ],
                    "columns": columns,
                    "path": subject.path(walk, dataset_id),
                },
            )
        )
    return found


def _latest_writes(dataset_ids: set[int], as_of_seq: int) -> dict[int, int]:
    return dict(
        RunDataset.objects.filter(
            dataset_id__in=list(dataset_ids), direction=RunDataset.Direction.OUTPUT, first_seq__lte=as_of_seq
        )
        .values("dataset_id")
        .annotate(last=Max("first_seq"))
        .values_list("dataset_id", "last")
    )


@check("data_quality_assertions")
def data_quality_assertions(policy: Policy, subject: SystemSubject) -> list[Violation]:
    comp = subject.composition
    data = comp.datasets_with(MemberRole.TRAINING_DATA, MemberRole.VALIDATION_DATA, MemberRole.TEST_DATA)
    if not data:
        # Without declared roles, the data the training and evaluation jobs read directly.
        jobs = comp.jobs_with(MemberRole.TRAINING_JOB, MemberRole.EVALUATION_JOB)
        data = set(
            RunDataset.objects.filter(
                direction=RunDataset.Direction.INPUT, run__job_id__in=list(jobs), first_seq__lte=subject.as_of_seq
            ).values_list("dataset_id", flat=True)
        ) - comp.datasets_with(MemberRole.MODEL)
    if not data:
        return []
    latest: dict[int, QualityResult] = {}
    for result in QualityResult.objects.filter(dataset_id__in=list(data), seq__lte=subject.as_of_seq).order_by("seq"):
        latest[result.dataset_id] = result
    writes = _latest_writes(data, subject.as_of_seq)
    names = node_names(dataset_ids=data)
    found = []
    for dataset_id in sorted(data):
        node = names.get(("dataset", dataset_id), f"dataset:#{dataset_id}")
        result = latest.get(dataset_id)
        if result is None:
            found.append(
                Violation(node, f"{node} has no data-quality assertions.", {"latest_write_seq": writes.get(dataset_id)})
            )
        elif writes.get(dataset_id, 0) > result.seq:
            found.append(
                Violation(
                    node,
                    f"The latest version of {node} (written at #{writes[dataset_id]}) was not checked.",
                    {"checked_seq": result.seq, "latest_write_seq": writes[dataset_id]},
                )
            )
        elif not result.passed:
            failed = [a for a in result.assertions if a.get("success") is not True]
            found.append(
                Violation(
                    node,
                    f"{len(failed)} data-quality assertion(s) failed on {node}.",
                    {"checked_seq": result.seq, "failed": failed},
                )
            )
    return found


@check("deployed_model_traceability")
def deployed_model_traceability(policy: Policy, subject: SystemSubject) -> list[Violation]:
    comp = subject.composition
    serving = comp.jobs_with(MemberRole.SERVING_JOB)
    if subject.system.status != "deployed" and not serving:
        return []
    models = comp.datasets_with(MemberRole.MODEL)
    if not models:
        return [Violation("", "The deployed system has no model linked to it.", {})]
    training_jobs = comp.jobs_with(MemberRole.TRAINING_JOB)
    evaluation_jobs = comp.jobs_with(MemberRole.EVALUATION_JOB)
    names = node_names(dataset_ids=models)
    complete = {RunState.COMPLETE}
    found = []
    for model in sorted(models):
        node = names.get(("dataset", model), f"dataset:#{model}")
        writers = Run.objects.filter(
            io__dataset_id=model, io__direction=RunDataset.Direction.OUTPUT, io__first_seq__lte=subject.as_of_seq
        )
        if training_jobs:
            writers = writers.filter(job_id__in=list(training_jobs))
        trained = [r for r in writers.values_list("run_id", "state", "pk") if r[1] in complete]
        readers = Run.objects.filter(
            io__dataset_id=model, io__direction=RunDataset.Direction.INPUT, io__first_seq__lte=subject.as_of_seq
        ).exclude(job_id__in=list(serving))
        if evaluation_jobs:
            readers = readers.filter(job_id__in=list(evaluation_jobs))
        else:
            readers = readers.exclude(job_id__in=list(training_jobs))
        evaluated = [r for r in readers.values_list("run_id", "state") if r[1] in complete]
        missing = []
        if not trained:
            missing.append("a COMPLETE training run that wrote it")
        if not evaluated:
            missing.append("a COMPLETE evaluation run that read it")
        if missing:
            found.append(
                Violation(
                    node,
                    f"{node} is deployed without {' and '.join(missing)}.",
                    {
                        "training_runs": [str(r[0]) for r in trained],
                        "evaluation_runs": [str(r[0]) for r in evaluated],
                    },
                )
            )
    return found


def latest_runs(job_ids: set[int], as_of_seq: int) -> dict[int, tuple[Run, str]]:
    """The latest run of each job known at ``as_of_seq`` and its state as of then."""
    latest_seq = dict(
        Run.objects.filter(job_id__in=list(job_ids), first_seq__lte=as_of_seq, is_placeholder=False)
        .values("job_id")
        .annotate(last=Max("first_seq"))
        .values_list("job_id", "last")
    )
    runs = {
        r.job_id: r
        for r in Run.objects.filter(job_id__in=list(latest_seq), first_seq__in=set(latest_seq.values()))
        if latest_seq.get(r.job_id) == r.first_seq
    }
    history: dict[int, list[tuple[Any, int, str]]] = {r.pk: [] for r in runs.values()}
    for run_id, state, when, seq in RunStateChange.objects.filter(
        run_id__in=list(history), seq__lte=as_of_seq
    ).values_list("run_id", "state", "event_time", "seq"):
        history[run_id].append((when, seq, state))
    return {job_id: (run, run_current_state(history[run.pk])[0]) for job_id, run in runs.items()}


@check("failed_upstream_runs")
def failed_upstream_runs(policy: Policy, subject: SystemSubject) -> list[Violation]:
    jobs = subject.walk.jobs | set(subject.composition.jobs)
    found = []
    for job_id, (run, state) in sorted(latest_runs(jobs, subject.as_of_seq).items()):
        if state not in (RunState.FAIL, RunState.ABORT):
            continue
        node = subject.job_node(job_id)
        outputs = list(
            RunDataset.objects.filter(run=run, direction=RunDataset.Direction.OUTPUT).values_list(
                "dataset_id", flat=True
            )
        )
        path = (
            subject.path(subject.walk, outputs[0])
            if outputs and outputs[0] in subject.walk.depth
            else [node, subject.key]
        )
        found.append(
            Violation(
                node,
                f"The latest run of {node} ended {state}.",
                {"run": str(run.run_id), "state": state, "path": [node, *path] if outputs else path},
            )
        )
    return found


@check("log_retention")
def log_retention(policy: Policy, subject: SystemSubject) -> list[Violation]:
    tiers = policy.parameters.get("risk_tiers", ["high-risk"])
    minimum = int(policy.parameters.get("min_days", 183))
    system = subject.system
    if system.risk_tier not in tiers:
        return []
    if system.log_retention_days is not None and system.log_retention_days >= minimum:
        return []
    kept = "not declared" if system.log_retention_days is None else f"{system.log_retention_days} days"
    return [
        Violation(
            "",
            f"Logs are kept {kept}; a {system.risk_tier} system must keep them at least {minimum} days.",
            {"log_retention_days": system.log_retention_days, "min_days": minimum},
        )
    ]


@check("cross_border_transfer")
def cross_border_transfer(policy: Policy, subject: JobSubject) -> list[Violation]:
    zones = policy.parameters.get("zones", ["EU"])
    exempt = set(policy.parameters.get("exempt_classifications", ["aggregated"]))
    # Only datasets with a jurisdiction as of the evaluation can be either end of a transfer, so
    # only their edges are read: a busy job has thousands of runs over datasets without one.
    located = GovernanceAssertion.objects.as_of(subject.as_of_seq).filter(
        field="", attribute=Attribute.JURISDICTION, present=True
    )
    edges = list(
        RunDataset.objects.filter(
            run__job=subject.job, first_seq__lte=subject.as_of_seq, dataset_id__in=located.values("dataset_id")
        ).values_list("run_id", "dataset_id", "direction")
    )
    inputs: dict[int, set[int]] = {}
    outputs: dict[int, set[int]] = {}
    for run_id, dataset_id, direction in edges:
        (inputs if direction == RunDataset.Direction.INPUT else outputs).setdefault(run_id, set()).add(dataset_id)
    ids = {d for _, d, _ in edges}
    governance = governance_get(dataset_ids=ids, as_of_seq=subject.as_of_seq)
    names = node_names(dataset_ids=ids)
    found: dict[str, Violation] = {}
    for run_id, outs in outputs.items():
        for out in outs:
            target = governance[out].first("jurisdiction")
            if not target or governance[out].all_classifications() & exempt:
                continue
            for source in inputs.get(run_id, ()):
                origin = governance[source].first("jurisdiction")
                if not origin or jurisdiction_zone(origin, zones) == jurisdiction_zone(target, zones):
                    continue
                item = f"{names[('dataset', source)]} -> {names[('dataset', out)]}"
                found[item] = Violation(
                    item,
                    f"{subject.key} moves data from {origin} to {target}.",
                    {
                        "from": {"node": names[("dataset", source)], "jurisdiction": origin},
                        "to": {"node": names[("dataset", out)], "jurisdiction": target},
                        "path": [names[("dataset", source)], subject.key, names[("dataset", out)]],
                    },
                )
    for fed in FederatedRound.objects.filter(run__job=subject.job, seq__lte=subject.as_of_seq).select_related("run"):
        where = {s.get("name"): str(s.get("jurisdiction") or "") for s in fed.sites}
        for transfer in fed.transfers:
            content = str(transfer.get("content") or "")
            origin, target = where.get(transfer.get("fromSite"), ""), where.get(transfer.get("toSite"), "")
            if content != "raw_data" or not origin or not target:
                continue
            if jurisdiction_zone(origin, zones) == jurisdiction_zone(target, zones):
                continue
            item = f"run:{fed.run.run_id}:{transfer.get('fromSite')}->{transfer.get('toSite')}"
            found[item] = Violation(
                item,
                f"Federated round ships raw data from {transfer.get('fromSite')} ({origin}) "
                f"to {transfer.get('toSite')} ({target}).",
                {"run": str(fed.run.run_id), "transfer": transfer, "sites": fed.sites, "technique": fed.technique},
            )
    return list(found.values())
