"""Read side of the catalog: governance values, system composition and energy, as of a sequence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import (
    MULTI_VALUED,
    AISystem,
    AuditorGrant,
    Classification,
    DatasetSchema,
    GovernanceAssertion,
    MemberRole,
    ModelCard,
    RunEnergy,
    SystemDeclaration,
    SystemMember,
)
from catalog.taxonomy import BUILTIN_BY_KEY, ClassificationFlags
from lineage.models import Run, RunDataset

CHUNK = 500


@dataclass(frozen=True)
class Value:
    """One effective governance value and where it came from."""

    value: str
    source: str
    first_seq: int
    evidence: dict[str, Any]
    actor: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "source": self.source,
            "first_seq": self.first_seq,
            "evidence": self.evidence,
            "actor": self.actor,
            "reason": self.reason,
        }


@dataclass
class Governance:
    """Effective governance values of one dataset: its own and its columns'."""

    dataset_id: int
    values: dict[str, list[Value]] = field(default_factory=dict)
    columns: dict[str, dict[str, list[Value]]] = field(default_factory=dict)

    def first(self, attribute: str) -> str:
        values = self.values.get(attribute) or []
        return values[0].value if values else ""

    def all_classifications(self) -> set[str]:
        found = {v.value for v in self.values.get("classification", [])}
        for column in self.columns.values():
            found |= {v.value for v in column.get("classification", [])}
        return found


def _effective(rows: list[GovernanceAssertion], attribute: str) -> list[Value]:
    positives = sorted((r for r in rows if r.present), key=lambda r: (-r.precedence, -r.first_seq))
    vetoes: dict[str, int] = {}
    for row in rows:
        if not row.present:
            vetoes[row.value] = max(vetoes.get(row.value, 0), row.precedence)
    chosen: dict[str, GovernanceAssertion] = {}
    for row in positives:
        if row.value in chosen or vetoes.get(row.value, -1) >= row.precedence:
            continue
        chosen[row.value] = row
        if attribute not in MULTI_VALUED:
            break
    return [
        Value(
            value=r.value,
            source=r.source,
            first_seq=r.first_seq,
            evidence=r.evidence,
            actor=r.actor,
            reason=r.reason,
        )
        for r in chosen.values()
    ]


def governance_get(*, dataset_ids: Iterable[int], as_of_seq: int | None = None) -> dict[int, Governance]:
    """Effective values per dataset and column, applying the explicit source precedence."""
    ids = sorted(set(dataset_ids))
    grouped: dict[tuple[int, str, str], list[GovernanceAssertion]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        rows = GovernanceAssertion.objects.as_of(as_of_seq).filter(dataset_id__in=ids[start : start + CHUNK])
        for row in rows.only(
            "dataset_id",
            "field",
            "attribute",
            "value",
            "present",
            "source",
            "precedence",
            "first_seq",
            "evidence",
            "actor",
            "reason",
        ):
            grouped[(row.dataset_id, row.field, row.attribute)].append(row)
    result = {dataset_id: Governance(dataset_id=dataset_id) for dataset_id in ids}
    for (dataset_id, column, attribute), rows in grouped.items():
        values = _effective(rows, attribute)
        if not values:
            continue
        target = result[dataset_id].values if not column else result[dataset_id].columns.setdefault(column, {})
        target[attribute] = values
    return result


def classification_flags() -> dict[str, ClassificationFlags]:
    """The taxonomy: built-in entries, overridden and extended by staff rows."""
    flags = dict(BUILTIN_BY_KEY)
    for row in Classification.objects.all():
        flags[row.key] = ClassificationFlags(
            key=row.key,
            label=row.label,
            personal_data=row.personal_data,
            special_category=row.special_category,
            propagates=row.propagates,
        )
    return flags


def dataset_columns(*, dataset_ids: Iterable[int]) -> dict[int, list[str]]:
    return dict(DatasetSchema.objects.filter(dataset_id__in=list(dataset_ids)).values_list("dataset_id", "fields"))


# --- Systems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composition:
    """The datasets and jobs of a system, by role, as of a sequence."""

    system_id: int
    datasets: dict[int, set[str]]
    jobs: dict[int, set[str]]

    def datasets_with(self, *roles: str) -> set[int]:
        return {d for d, r in self.datasets.items() if r & set(roles)}

    def jobs_with(self, *roles: str) -> set[int]:
        return {j for j, r in self.jobs.items() if r & set(roles)}


def system_get(*, slug: str) -> AISystem:
    return AISystem.objects.get(slug=slug)


def system_composition(*, system_id: int, as_of_seq: int | None = None) -> Composition:
    datasets: dict[int, set[str]] = defaultdict(set)
    jobs: dict[int, set[str]] = defaultdict(set)
    for role, dataset_id, job_id in (
        SystemMember.objects.as_of(as_of_seq).filter(system_id=system_id).values_list("role", "dataset_id", "job_id")
    ):
        if dataset_id:
            datasets[dataset_id].add(role)
        else:
            jobs[job_id].add(role)
    # A model is also what the system's serving jobs read, when it is a model artefact: it carries
    # a model facet, or one of the system's training jobs wrote it.
    serving = [j for j, roles in jobs.items() if MemberRole.SERVING_JOB in roles]
    training = [j for j, roles in jobs.items() if MemberRole.TRAINING_JOB in roles]
    if serving:
        read = RunDataset.objects.filter(direction=RunDataset.Direction.INPUT, run__job_id__in=serving)
        if as_of_seq is not None:
            read = read.filter(first_seq__lte=as_of_seq)
        read_ids = set(read.values_list("dataset_id", flat=True).distinct())
        cards = ModelCard.objects.filter(dataset_id__in=list(read_ids))
        if as_of_seq is not None:
            cards = cards.filter(seq__lte=as_of_seq)
        models = set(cards.values_list("dataset_id", flat=True))
        models |= set(
            RunDataset.objects.filter(
                direction=RunDataset.Direction.OUTPUT, dataset_id__in=list(read_ids), run__job_id__in=training
            ).values_list("dataset_id", flat=True)
        )
        for dataset_id in models:
            datasets[dataset_id].add(MemberRole.MODEL)
    return Composition(system_id=system_id, datasets=dict(datasets), jobs=dict(jobs))


def systems_touching(*, dataset_ids: Iterable[int], job_ids: Iterable[int]) -> set[int]:
    """Systems that have any of these datasets or jobs as members (current membership)."""
    dataset_ids, job_ids = list(dataset_ids), list(job_ids)
    found: set[int] = set()
    for start in range(0, max(len(dataset_ids), len(job_ids)), CHUNK):
        found |= set(
            SystemMember.objects.filter(valid_to_seq__isnull=True)
            .filter(Q(dataset_id__in=dataset_ids[start : start + CHUNK]) | Q(job_id__in=job_ids[start : start + CHUNK]))
            .values_list("system_id", flat=True)
        )
    return found


def system_declarations(*, system_id: int, as_of_seq: int | None = None) -> dict[str, SystemDeclaration]:
    """The latest version of each staff declaration, as of a sequence."""
    rows = SystemDeclaration.objects.filter(system_id=system_id).order_by("field", "version")
    if as_of_seq is not None:
        rows = rows.filter(seq__lte=as_of_seq)
    return {row.field: row for row in rows}


# --- Energy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Energy:
    kwh: float
    kg_co2e: float
    accelerator_hours: float
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kwh": round(self.kwh, 3),
            "kg_co2e": round(self.kg_co2e, 3),
            "accelerator_hours": round(self.accelerator_hours, 3),
            "runs": self.runs,
        }


def _energy_of_runs(run_ids: set[int], as_of_seq: int | None) -> Energy:
    rows = RunEnergy.objects.filter(run_id__in=list(run_ids))
    if as_of_seq is not None:
        rows = rows.filter(seq__lte=as_of_seq)
    totals = rows.aggregate(kwh=Sum("kwh"), kg=Sum("kg_co2e"), hours=Sum("accelerator_hours"))
    return Energy(
        kwh=totals["kwh"] or 0.0,
        kg_co2e=totals["kg"] or 0.0,
        accelerator_hours=totals["hours"] or 0.0,
        runs=rows.count(),
    )


def _runs_with_children(run_ids: set[int]) -> set[int]:
    found = set(run_ids)
    frontier = set(run_ids)
    while frontier:
        frontier = set(Run.objects.filter(parent_id__in=list(frontier)).values_list("pk", flat=True)) - found
        found |= frontier
    return found


def model_energy(*, dataset_id: int, as_of_seq: int | None = None) -> Energy:
    """Energy of the runs that produced a model artefact, with their child runs."""
    writers = RunDataset.objects.filter(dataset_id=dataset_id, direction=RunDataset.Direction.OUTPUT)
    if as_of_seq is not None:
        writers = writers.filter(first_seq__lte=as_of_seq)
    return _energy_of_runs(_runs_with_children(set(writers.values_list("run_id", flat=True))), as_of_seq)


def system_energy(*, system_id: int, as_of_seq: int | None = None) -> Energy:
    """Energy of a system: the runs of its jobs and the runs that produced its models."""
    composition = system_composition(system_id=system_id, as_of_seq=as_of_seq)
    runs = set(Run.objects.filter(job_id__in=list(composition.jobs)).values_list("pk", flat=True))
    models = composition.datasets_with(MemberRole.MODEL)
    writers = RunDataset.objects.filter(dataset_id__in=list(models), direction=RunDataset.Direction.OUTPUT)
    runs |= set(writers.values_list("run_id", flat=True))
    return _energy_of_runs(_runs_with_children(runs), as_of_seq)


def auditor_grant_list(*, user: Any, now: datetime | None = None) -> QuerySet[AuditorGrant]:
    """An auditor's grants in force at ``now``: not revoked, not expired."""
    if not getattr(user, "is_authenticated", False):
        return AuditorGrant.objects.none()
    return AuditorGrant.objects.active(now=now or timezone.now()).filter(user=user)


def auditor_systems(*, user: Any, now: datetime | None = None) -> QuerySet[AISystem]:
    """The AI systems an auditor may see at ``now``: live, unexpired grants only."""
    grants = auditor_grant_list(user=user, now=now)
    return AISystem.objects.filter(pk__in=grants.values("system_id")).order_by("name")
