"""Reads behind the staff pages: a handful of set-based queries per page, never a graph walk per row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from catalog.models import AISystem, Finding, FindingStatus, RiskTier, Severity, SystemMember
from catalog.selectors import Governance, classification_flags, governance_get, system_energy
from config.errors import ApplicationError
from lineage import graph
from lineage.graph import GraphNode, LineageGraph, NodeKind
from lineage.models import Dataset, Job, LedgerEntry, Run

SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]


@dataclass(frozen=True)
class Dashboard:
    events_per_day: list[tuple[str, int]]
    events_total: int
    runs_by_state: list[tuple[str, int]]
    open_findings: list[tuple[str, int]]
    systems_by_tier: list[tuple[str, int]]
    energy: list[tuple[str, float, float]]  # system name, kWh, kgCO2e
    counts: dict[str, int]


def dashboard_get(*, days: int = 30) -> Dashboard:
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    per_day = dict(
        LedgerEntry.objects.filter(kind="event", received_at__date__gte=since)
        .annotate(day=TruncDate("received_at"))
        .values_list("day")
        .annotate(n=Count("seq"))
        .values_list("day", "n")
    )
    events = [(d.strftime("%d %b"), per_day.get(d, 0)) for d in (since + timedelta(days=i) for i in range(days))]
    runs = Counter(dict(Run.objects.filter(is_placeholder=False).values_list("state").annotate(n=Count("id"))))
    open_by_severity = dict(
        Finding.objects.filter(status=FindingStatus.OPEN).values_list("severity").annotate(n=Count("id"))
    )
    tiers = dict(AISystem.objects.values_list("risk_tier").annotate(n=Count("id")))
    energy = []
    for system in AISystem.objects.order_by("name"):
        used = system_energy(system_id=system.pk)
        energy.append((system.name, used.kwh, used.kg_co2e))
    return Dashboard(
        events_per_day=events,
        events_total=LedgerEntry.objects.filter(kind="event").count(),
        runs_by_state=sorted(runs.items(), key=lambda kv: -kv[1]),
        open_findings=[(s.value, open_by_severity.get(s.value, 0)) for s in SEVERITY_ORDER],
        systems_by_tier=[(label, tiers[value]) for value, label in RiskTier.choices if tiers.get(value)],
        energy=energy,
        counts={
            "datasets": Dataset.objects.count(),
            "jobs": Job.objects.count(),
            "runs": sum(runs.values()),
            "systems": sum(tiers.values()),
            "open_findings": sum(open_by_severity.values()),
        },
    )


@dataclass(frozen=True)
class SearchResults:
    query: str
    datasets: list[Dataset]
    jobs: list[Job]
    systems: list[AISystem]

    @property
    def total(self) -> int:
        return len(self.datasets) + len(self.jobs) + len(self.systems)


def search(*, query: str, limit: int = 50) -> SearchResults:
    query = query.strip()
    if not query:
        return SearchResults(query, [], [], [])
    name = Q(name__icontains=query) | Q(namespace__name__icontains=query)
    return SearchResults(
        query=query,
        datasets=list(Dataset.objects.filter(name).select_related("namespace").order_by("name")[:limit]),
        jobs=list(Job.objects.filter(name).select_related("namespace").order_by("name")[:limit]),
        systems=list(
            AISystem.objects.filter(Q(name__icontains=query) | Q(slug__icontains=query)).order_by("name")[:limit]
        ),
    )


def findings_list(*, system: str = "", policy: str = "", severity: str = "", status: str = "open") -> QuerySet[Finding]:
    rows = Finding.objects.select_related("system", "policy")
    if system:
        rows = rows.filter(system__slug=system)
    if policy:
        rows = rows.filter(policy_key=policy)
    if severity:
        rows = rows.filter(severity=severity)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("status", "-severity", "policy_key", "pk")


def findings_for_nodes(node_ids: list[str]) -> list[Finding]:
    """Unresolved findings whose subject or item names one of these nodes."""
    match = Q()
    for node in node_ids:
        match |= Q(subject=node) | Q(item=node) | Q(item__startswith=f"{node} ")
    return list(Finding.objects.filter(match).exclude(status=FindingStatus.RESOLVED).select_related("system"))


@dataclass(frozen=True)
class NodeMarks:
    """What the explorer paints on a dataset: personal data, special category, where it lives."""

    pii: bool = False
    special: bool = False
    jurisdictions: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()


def marks_for(governance: dict[int, Governance]) -> dict[int, NodeMarks]:
    flags = classification_flags()
    marks = {}
    for dataset_id, gov in governance.items():
        classes = sorted(gov.all_classifications())
        marks[dataset_id] = NodeMarks(
            pii=any(flags[c].personal_data for c in classes if c in flags),
            special=any(flags[c].special_category for c in classes if c in flags),
            jurisdictions=tuple(v.value for v in gov.values.get("jurisdiction", [])),
            classifications=tuple(classes),
        )
    return marks


@dataclass
class ExplorerGraph:
    root: str
    as_of_seq: int
    truncated: bool
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, str]] = field(default_factory=list)


def explorer_graph(graph: LineageGraph, *, as_of_seq: int | None) -> ExplorerGraph:
    """The lineage graph with what the explorer draws on each node (kind, marks, link, role)."""
    dataset_pks = [n.pk for n in graph.nodes if n.kind == NodeKind.DATASET]
    job_pks = [n.pk for n in graph.nodes if n.kind == NodeKind.JOB]
    marks = marks_for(governance_get(dataset_ids=dataset_pks, as_of_seq=as_of_seq))
    roles: dict[tuple[str, int], str] = {}
    members = SystemMember.objects.as_of(as_of_seq).filter(Q(dataset_id__in=dataset_pks) | Q(job_id__in=job_pks))
    for member in members.values("dataset_id", "job_id", "role"):
        key = ("dataset", member["dataset_id"]) if member["dataset_id"] else ("job", member["job_id"])
        roles.setdefault(key, member["role"])
    result = ExplorerGraph(root=graph.root, as_of_seq=graph.as_of_seq, truncated=graph.truncated)
    for node in graph.nodes:
        result.nodes.append(_explorer_node(node, marks, roles))
    result.edges = [{"from": e.origin, "to": e.destination} for e in graph.edges]
    return result


def _explorer_node(node: GraphNode, marks: dict[int, NodeMarks], roles: dict[tuple[str, int], str]) -> dict[str, Any]:
    kind = node.kind.value
    mark = marks.get(node.pk, NodeMarks()) if node.kind == NodeKind.DATASET else NodeMarks()
    return {
        "id": node.id,
        "kind": kind,
        "namespace": node.namespace,
        "name": node.name,
        "depth": node.depth,
        "direction": node.direction,
        "url": f"/ui/{'datasets' if kind == 'dataset' else 'jobs'}/{node.pk}/",
        "role": roles.get((kind, node.pk), ""),
        "pii": mark.pii,
        "special": mark.special,
        "jurisdictions": list(mark.jurisdictions),
        "classifications": list(mark.classifications),
    }


def days_ago(day: date) -> int:
    return (timezone.now().date() - day).days


def node_pages(node_ids: list[str]) -> dict[str, str]:
    """The staff page of each node id that names a stored dataset, column, job, run or system."""
    pages: dict[str, str] = {}
    slugs = {n.removeprefix("system:"): n for n in node_ids if n.startswith("system:")}
    for slug in AISystem.objects.filter(slug__in=list(slugs)).values_list("slug", flat=True):
        pages[slugs[slug]] = reverse("ui:system", args=[slug])
    for node in node_ids:
        if node in pages or node.startswith("system:"):
            continue
        try:
            ref = graph.node_parse(node)
        except ApplicationError:
            continue
        if ref.kind in (NodeKind.DATASET, NodeKind.DATASET_FIELD):
            pages[node] = reverse("ui:dataset", args=[ref.pk])
        elif ref.kind == NodeKind.JOB:
            pages[node] = reverse("ui:job", args=[ref.pk])
        elif ref.kind == NodeKind.RUN:
            pages[node] = reverse("ui:run", args=[str(ref.run_id)])
    return pages
