"""The graph query layer: lineage, paths, column lineage and impact, as of any ledger position.

Walks go breadth-first, one level at a time, with set-based queries per level over the
aggregated ``JobDatasetEdge`` table (column walks over ``ColumnLineageEdge``): the cost follows
the size of the answer, never the size of the graph, and nothing loads the whole graph. Each
walk is bounded by a depth and a node cap; hitting the cap is reported as ``truncated``. Visited
sets make every walk cycle-safe. networkx analyses (paths, topological order, cycles) run on the
extracted subgraph only.

Depth counts jobs. From a dataset, depth 1 upstream is the jobs that wrote it and the datasets
those jobs read, depth 2 the jobs that wrote those, and so on; downstream likewise. From a job,
its own inputs (outputs) are at depth 0 and come with any upstream (downstream) depth of 1 or
more. Upstream and downstream have their own depth; a depth of 0 leaves that side out.

As of: every query takes ``as_of_seq`` (a ledger sequence) or ``as_of`` (a timestamp). A
timestamp means "what Tracemark had received by then": it resolves to the sequence of the last
intake request received at or before it (ledger receive time, not event time — a late
event is known from when it arrived). ``None`` is the current graph.

Node ids are the reference server's: ``dataset:<ns>:<name>``, ``job:<ns>:<name>``,
``datasetField:<ns>:<dataset>:<field>``, ``run:<uuid>``. Namespaces (``postgres://host:5432``)
and names contain colons, so ids are parsed against the namespaces and datasets that exist.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import networkx as nx
from django.db import connection
from django.db.models import Q

from config.errors import ApplicationError, FieldError, NotFound
from lineage.models import (
    ColumnLineageEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DatasetVersion,
    EdgeDirection,
    GraphCheckpoint,
    GraphHead,
    Job,
    JobDatasetEdge,
    JobVersion,
    LedgerEntry,
    LedgerHead,
    Namespace,
    Run,
    RunDataset,
    RunStateChange,
    valid_at,
)
from lineage.validation import UUID_RE

DEFAULT_NODE_CAP = 5_000
MAX_DEPTH = 100
CHUNK = 2_000
IN, OUT = EdgeDirection.INPUT.value, EdgeDirection.OUTPUT.value


class InvalidQuery(ApplicationError):
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message=message, errors=[FieldError(path=path, message=message)] if path else [])


# --- Node ids ------------------------------------------------------------------------------------


class NodeKind(StrEnum):
    DATASET = "dataset"
    JOB = "job"
    DATASET_FIELD = "datasetField"
    RUN = "run"


@dataclass(frozen=True)
class NodeRef:
    """A parsed node id. ``pk`` is the dataset, job or run primary key."""

    kind: NodeKind
    pk: int
    namespace: str = ""
    name: str = ""
    field: str = ""
    run_id: uuid.UUID | None = None
    version: uuid.UUID | None = None  # a ``#<version>`` suffix, as the reference server allows

    @property
    def node_id(self) -> str:
        return node_id(self.kind, self.namespace, self.name, self.field, self.run_id)


def node_id(
    kind: NodeKind | str, namespace: str = "", name: str = "", field: str = "", run_id: uuid.UUID | None = None
) -> str:
    if kind == NodeKind.RUN:
        return f"run:{run_id}"
    if kind == NodeKind.DATASET_FIELD:
        return f"datasetField:{namespace}:{name}:{field}"
    return f"{kind}:{namespace}:{name}"


def _colon_prefixes(text: str) -> list[str]:
    """Every prefix of ``text`` that ends just before a colon, longest first."""
    return [text[:i] for i in range(len(text) - 1, 0, -1) if text[i] == ":"]


def node_parse(value: str) -> NodeRef:
    """Resolve a node id to the stored node; raises ``NotFound`` or ``InvalidQuery``."""
    kind_text, sep, rest = value.partition(":")
    kinds = {k.value: k for k in NodeKind}
    if not sep or kind_text not in kinds or not rest:
        raise InvalidQuery(
            f"Invalid node id {value!r}: expected dataset:<namespace>:<name>, job:<namespace>:<name>, "
            "datasetField:<namespace>:<dataset>:<field> or run:<uuid>.",
            path="nodeId",
        )
    kind = kinds[kind_text]
    version = None
    if "#" in rest and kind != NodeKind.RUN:
        head, _, tail = rest.rpartition("#")
        try:
            version = uuid.UUID(tail)
            rest = head
        except ValueError:
            pass
    if kind == NodeKind.RUN:
        # The hyphenated form only: ``uuid.UUID`` alone would also read braces, a ``urn:uuid:``
        # prefix or 32 bare hex digits, which the schema's pattern refuses.
        if not UUID_RE.fullmatch(rest):
            raise InvalidQuery(f"Invalid run id in node id {value!r}.", path="nodeId")
        run_id = uuid.UUID(rest)
        pk = Run.objects.filter(run_id=run_id).values_list("pk", flat=True).first()
        if pk is None:
            raise NotFound(f"Node {value} not found.")
        return NodeRef(kind=kind, pk=pk, run_id=run_id)
    namespaces = set(Namespace.objects.filter(name__in=_colon_prefixes(rest)).values_list("name", flat=True))
    for ns in sorted(namespaces, key=len, reverse=True):
        remainder = rest[len(ns) + 1 :]
        if kind == NodeKind.JOB:
            pk = Job.objects.filter(namespace__name=ns, name=remainder).values_list("pk", flat=True).first()
            if pk is not None:
                return NodeRef(kind=kind, pk=pk, namespace=ns, name=remainder, version=version)
            continue
        names = [remainder] if kind == NodeKind.DATASET else _colon_prefixes(remainder)
        found = dict(Dataset.objects.filter(namespace__name=ns, name__in=names).values_list("name", "pk"))
        for name in names:  # longest first
            if name in found:
                field_name = remainder[len(name) + 1 :] if kind == NodeKind.DATASET_FIELD else ""
                return NodeRef(kind=kind, pk=found[name], namespace=ns, name=name, field=field_name, version=version)
    raise NotFound(f"Node {value} not found.")


# --- As of ------------------------------------------------------------------------------------------


def as_of_resolve(*, as_of_seq: int | None = None, as_of: datetime | None = None) -> int:
    """The ledger sequence a query is answered at; the current head when neither is given."""
    if as_of_seq is not None and as_of is not None:
        raise InvalidQuery("Give asOf or asOfSeq, not both.", path="asOf")
    if as_of_seq is not None:
        if as_of_seq < 0:
            raise InvalidQuery("asOfSeq must be 0 or more.", path="asOfSeq")
        return as_of_seq
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidQuery("asOf needs a time zone (e.g. 2026-03-31T23:59:59Z).", path="asOf")
        seq = (
            GraphCheckpoint.objects.filter(received_at__lte=as_of)
            .order_by("-received_at", "-seq")
            .values_list("seq", flat=True)
            .first()
        )
        return seq or 0
    return graph_head_seq()


def graph_head_seq() -> int:
    """What "now" means for a query: the last ledger sequence before the first unfolded event.

    The graph folds events behind the ledger append, so for an instant the ledger head may be
    ahead of the fold. Governance entries (the catalog's decisions) need no fold: when no event
    waits, "now" is the ledger head, so a query sees a decision recorded after the last fold.
    """
    ledger = LedgerHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    folded = GraphHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    if folded >= ledger:
        return ledger
    waiting = (
        LedgerEntry.objects.filter(seq__gt=folded, kind=LedgerEntry.Kind.EVENT)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    return ledger if waiting is None else waiting - 1


@dataclass(frozen=True)
class _At:
    """The ledger position a query is answered at."""

    seq: int
    head: bool

    def valid(self, prefix: str = "") -> Q:
        """Facts true at this position; at the head simply the facts that have not ended."""
        if self.head:
            return Q(**{f"{prefix}valid_to_seq__isnull": True})
        return valid_at(self.seq, prefix)


def _at(*, as_of_seq: int | None = None, as_of: datetime | None = None) -> _At:
    seq = as_of_resolve(as_of_seq=as_of_seq, as_of=as_of)
    head = graph_head_seq()
    return _At(seq=min(seq, head), head=seq >= head)


# --- Lineage -----------------------------------------------------------------------------------------


class Direction(StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: NodeKind
    pk: int
    namespace: str
    name: str
    depth: int  # jobs between this node and the root
    direction: str  # "root", "upstream" or "downstream"


@dataclass(frozen=True)
class GraphEdge:
    origin: str
    destination: str


@dataclass(frozen=True)
class LineageGraph:
    root: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    as_of_seq: int
    upstream_depth: int
    downstream_depth: int
    truncated: bool

    def node(self, node_id: str) -> GraphNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_networkx(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        for node in self.nodes:
            graph.add_node(node.id, kind=node.kind.value, depth=node.depth)
        graph.add_edges_from((e.origin, e.destination) for e in self.edges)
        return graph

    def topological_order(self) -> tuple[str, ...] | None:
        """Node ids in data-flow order, or None when the subgraph has a cycle."""
        graph = self.to_networkx()
        if not nx.is_directed_acyclic_graph(graph):
            return None
        return tuple(nx.lexicographical_topological_sort(graph))

    def cycles(self, limit: int = 20) -> tuple[tuple[str, ...], ...]:
        """Up to ``limit`` elementary cycles of the subgraph (a job that reads what it writes…)."""
        return tuple(tuple(c) for c in itertools.islice(nx.simple_cycles(self.to_networkx()), limit))


@dataclass
class _Walk:
    """Mutable state of one walk; frozen into a LineageGraph at the end."""

    cap: int
    datasets: dict[int, tuple[int, str]] = field(default_factory=dict)  # pk -> (depth, direction)
    jobs: dict[int, tuple[int, str]] = field(default_factory=dict)
    edges: set[tuple[int, int, str]] = field(default_factory=set)  # (job, dataset, in|out)
    truncated: bool = False
    # When set, the walk stays inside these datasets and jobs (paths: the target's upstream).
    within: tuple[set[int], set[int]] | None = None

    def size(self) -> int:
        return len(self.datasets) + len(self.jobs)

    def add(self, store: dict[int, tuple[int, str]], pk: int, depth: int, direction: str) -> bool:
        """Add a node; False if it was known already, lies outside the walk's bounds or the cap is reached."""
        if pk in store:
            return False
        if self.within is not None and pk not in self.within[0 if store is self.datasets else 1]:
            return False
        if self.size() >= self.cap:
            self.truncated = True
            return False
        store[pk] = (depth, direction)
        return True


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _edges(at: _At, *, direction: str, datasets: Iterable[int] = (), jobs: Iterable[int] = ()) -> list[tuple[int, int]]:
    """(job, dataset) pairs of edges true at ``at`` touching the given datasets or jobs."""
    found: list[tuple[int, int]] = []
    for key, ids in (("dataset_id__in", datasets), ("job_id__in", jobs)):
        for chunk in _chunks(sorted(set(ids))):
            found.extend(
                JobDatasetEdge.objects.filter(at.valid(), direction=direction, **{key: chunk})
                .values_list("job_id", "dataset_id")
                .distinct()
            )
    return found


def _level(at: _At, frontier: list[int], towards: str, beyond: str) -> list[tuple[int, int, int | None]]:
    """(job, frontier dataset, job's dataset on the far side or NULL) for one level, in one query.

    A self-join of the edge table: the jobs that wrote (read) the frontier datasets and, left
    joined, the datasets those jobs read (wrote). Jobs with nothing on the far side still come back.
    """
    table = connection.ops.quote_name(JobDatasetEdge._meta.db_table)

    def valid(alias: str) -> tuple[str, list[int]]:
        if at.head:
            return f"{alias}.valid_to_seq IS NULL", []
        return f"{alias}.first_seq <= %s AND ({alias}.valid_to_seq IS NULL OR {alias}.valid_to_seq > %s)", [at.seq] * 2

    near, near_params = valid("e1")
    far, far_params = valid("e2")
    rows: list[tuple[int, int, int | None]] = []
    for chunk in _chunks(frontier):
        marks = ", ".join(["%s"] * len(chunk))
        sql = (
            f"SELECT DISTINCT e1.job_id, e1.dataset_id, e2.dataset_id FROM {table} e1 "  # noqa: S608 - identifiers only
            f"LEFT JOIN {table} e2 ON e2.job_id = e1.job_id AND e2.direction = %s AND {far} "
            f"WHERE e1.dataset_id IN ({marks}) AND e1.direction = %s AND {near}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [beyond, *far_params, *chunk, towards, *near_params])
            rows.extend(cursor.fetchall())
    return rows


def _step(walk: _Walk, at: _At, frontier: set[int], depth: int, direction: Direction) -> set[int]:
    """One job level from ``frontier`` datasets: the jobs that wrote (read) them, then their inputs (outputs)."""
    towards, beyond = (OUT, IN) if direction == Direction.UPSTREAM else (IN, OUT)
    new_jobs: set[int] = set()
    nxt: set[int] = set()
    for job, near, far in _level(at, sorted(frontier), towards, beyond):
        if walk.add(walk.jobs, job, depth, direction.value):
            new_jobs.add(job)
        if job not in walk.jobs:
            continue
        walk.edges.add((job, near, towards))
        if far is None or job not in new_jobs:
            continue  # a job reached earlier has had its far side walked already
        if walk.add(walk.datasets, far, depth, direction.value):
            nxt.add(far)
        if far in walk.datasets:
            walk.edges.add((job, far, beyond))
    return nxt


def _job_datasets(walk: _Walk, at: _At, jobs: set[int], depth: int, direction: Direction, which: str) -> set[int]:
    """The inputs or outputs of newly reached jobs; the datasets new to the walk are the next frontier."""
    nxt: set[int] = set()
    for job, dataset in _edges(at, direction=which, jobs=jobs):
        if walk.add(walk.datasets, dataset, depth, direction.value):
            nxt.add(dataset)
        if dataset in walk.datasets:
            walk.edges.add((job, dataset, which))
    return nxt


def _walk(walk: _Walk, at: _At, start: NodeRef, depth: int, direction: Direction) -> None:
    if start.kind == NodeKind.JOB:
        own = IN if direction == Direction.UPSTREAM else OUT
        frontier = _job_datasets(walk, at, {start.pk}, 0, direction, own)
    else:
        frontier = {start.pk}
    for level in range(1, depth + 1):
        if not frontier:
            break
        frontier = _step(walk, at, frontier, level, direction)


def _check_depth(name: str, depth: int) -> None:
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidQuery(f"{name} must be between 0 and {MAX_DEPTH}.", path=name)


def _start(node: NodeRef | str) -> NodeRef:
    ref = node_parse(node) if isinstance(node, str) else node
    if ref.kind == NodeKind.DATASET_FIELD:
        return NodeRef(kind=NodeKind.DATASET, pk=ref.pk, namespace=ref.namespace, name=ref.name)
    if ref.kind == NodeKind.RUN:
        job = Run.objects.filter(pk=ref.pk).values_list("job_id", "job__namespace__name", "job__name").get()
        return NodeRef(kind=NodeKind.JOB, pk=job[0], namespace=job[1], name=job[2])
    return ref


def _check_known(ref: NodeRef, at: _At) -> None:
    """A node learned after the position asked about did not exist then."""
    if at.head:
        return
    model = Job if ref.kind == NodeKind.JOB else Dataset
    if not model.objects.filter(pk=ref.pk, first_seq__lte=at.seq).exists():
        raise NotFound(f"Node {ref.node_id} was not known as of ledger sequence {at.seq}.")


def lineage(
    node: NodeRef | str,
    *,
    upstream_depth: int = 20,
    downstream_depth: int = 20,
    as_of_seq: int | None = None,
    as_of: datetime | None = None,
    node_cap: int = DEFAULT_NODE_CAP,
) -> LineageGraph:
    """Upstream and downstream of a node, each to its own depth (0 leaves that side out).

    A field id stands for its dataset; a run id for its job.
    """
    _check_depth("upstreamDepth", upstream_depth)
    _check_depth("downstreamDepth", downstream_depth)
    at = _at(as_of_seq=as_of_seq, as_of=as_of)
    start = _start(node)
    _check_known(start, at)
    return _lineage(start, at, upstream_depth, downstream_depth, node_cap)


def _lineage(
    start: NodeRef, at: _At, up: int, down: int, node_cap: int, within: tuple[set[int], set[int]] | None = None
) -> LineageGraph:
    walk = _Walk(cap=max(1, node_cap), within=within)
    store = walk.jobs if start.kind == NodeKind.JOB else walk.datasets
    store[start.pk] = (0, "root")
    if up:
        _walk(walk, at, start, up, Direction.UPSTREAM)
    if down:
        _walk(walk, at, start, down, Direction.DOWNSTREAM)
    return _freeze(walk, start, at.seq, up, down)


def upstream(node: NodeRef | str, *, depth: int = 20, **kwargs: Any) -> LineageGraph:
    return lineage(node, upstream_depth=depth, downstream_depth=0, **kwargs)


def downstream(node: NodeRef | str, *, depth: int = 20, **kwargs: Any) -> LineageGraph:
    return lineage(node, upstream_depth=0, downstream_depth=depth, **kwargs)


def _attribute(model: type[Dataset] | type[Job], pks: Iterable[int], name: str) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(pks):
        found.update(model.objects.filter(pk__in=chunk).values_list("pk", name))
    return found


def _names(model: type[Dataset] | type[Job], pks: Iterable[int]) -> dict[int, tuple[str, str]]:
    names: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(pks):
        for pk, ns, name in model.objects.filter(pk__in=chunk).values_list("pk", "namespace__name", "name"):
            names[pk] = (ns, name)
    return names


def _freeze(walk: _Walk, start: NodeRef, seq: int, up: int, down: int) -> LineageGraph:
    datasets = _names(Dataset, walk.datasets)
    jobs = _names(Job, walk.jobs)
    nodes = [
        GraphNode(node_id(NodeKind.DATASET, *datasets[pk]), NodeKind.DATASET, pk, *datasets[pk], depth, way)
        for pk, (depth, way) in walk.datasets.items()
    ] + [
        GraphNode(node_id(NodeKind.JOB, *jobs[pk]), NodeKind.JOB, pk, *jobs[pk], depth, way)
        for pk, (depth, way) in walk.jobs.items()
    ]
    edges = set()
    for job, dataset, direction in walk.edges:
        if job in jobs and dataset in datasets:
            job_id, dataset_id = node_id(NodeKind.JOB, *jobs[job]), node_id(NodeKind.DATASET, *datasets[dataset])
            edges.add(GraphEdge(job_id, dataset_id) if direction == OUT else GraphEdge(dataset_id, job_id))
    return LineageGraph(
        root=start.node_id,
        nodes=tuple(sorted(nodes, key=lambda n: (n.depth, n.id))),
        edges=tuple(sorted(edges, key=lambda e: (e.origin, e.destination))),
        as_of_seq=seq,
        upstream_depth=up,
        downstream_depth=down,
        truncated=walk.truncated,
    )


# --- Paths ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathResult:
    """How data got from ``source`` to ``target``: simple paths, shortest first."""

    source: str
    target: str
    paths: tuple[tuple[str, ...], ...]
    graph: LineageGraph  # the nodes and edges that lie on some path
    truncated: bool  # a walk hit the node cap, or more paths exist than were listed

    @property
    def connected(self) -> bool:
        return bool(self.paths)


def paths(
    source: NodeRef | str,
    target: NodeRef | str,
    *,
    max_depth: int = 20,
    limit: int = 10,
    as_of_seq: int | None = None,
    as_of: datetime | None = None,
    node_cap: int = DEFAULT_NODE_CAP,
) -> PathResult:
    """Every way ``source`` reaches ``target`` downstream.

    The target's upstream is walked first; the source's downstream walk then stays inside it, so
    the cost follows the paths' neighbourhood rather than everything the source feeds.
    """
    at = _at(as_of_seq=as_of_seq, as_of=as_of)
    seq = at.seq
    src, dst = _start(source), _start(target)
    _check_known(src, at)
    _check_known(dst, at)
    up = _lineage(dst, at, max_depth, 0, node_cap)
    within = (
        {n.pk for n in up.nodes if n.kind == NodeKind.DATASET},
        {n.pk for n in up.nodes if n.kind == NodeKind.JOB},
    )
    reached = src.pk in within[1 if src.kind == NodeKind.JOB else 0]
    down = _lineage(src, at, 0, max_depth if reached else 0, node_cap, within)
    on_path = {n.id for n in down.nodes} & {n.id for n in up.nodes}
    edges = tuple(e for e in down.edges if e.origin in on_path and e.destination in on_path)
    graph = nx.DiGraph()
    graph.add_nodes_from(on_path)
    graph.add_edges_from((e.origin, e.destination) for e in edges)
    found: list[tuple[str, ...]] = []
    more = False
    if src.node_id in graph and dst.node_id in graph and src.node_id != dst.node_id:
        simple = nx.shortest_simple_paths(graph, src.node_id, dst.node_id)
        try:
            found = [tuple(p) for p in itertools.islice(simple, limit + 1)]
        except nx.NetworkXNoPath:
            found = []
        more, found = len(found) > limit, found[:limit]
    nodes = tuple(n for n in down.nodes if n.id in {x for p in found for x in p})
    used = {(p[i], p[i + 1]) for p in found for i in range(len(p) - 1)}
    return PathResult(
        source=src.node_id,
        target=dst.node_id,
        paths=tuple(found),
        graph=LineageGraph(
            root=src.node_id,
            nodes=nodes,
            edges=tuple(e for e in edges if (e.origin, e.destination) in used),
            as_of_seq=seq,
            upstream_depth=0,
            downstream_depth=max_depth,
            truncated=down.truncated or up.truncated,
        ),
        truncated=down.truncated or up.truncated or more,
    )


# --- Impact ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactGroup:
    kind: str  # "dataset:MODEL", "dataset:TABLE", "job:BATCH", "datasetField"…
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class ImpactResult:
    root: str
    groups: tuple[ImpactGroup, ...]
    total: int
    as_of_seq: int
    truncated: bool


def impact(
    node: NodeRef | str,
    *,
    depth: int = 20,
    as_of_seq: int | None = None,
    as_of: datetime | None = None,
    node_cap: int = DEFAULT_NODE_CAP,
) -> ImpactResult:
    """Everything downstream of a node, grouped by kind (dataset type, job type; fields for a field)."""
    ref = node_parse(node) if isinstance(node, str) else node
    seq = _at(as_of_seq=as_of_seq, as_of=as_of).seq
    graph = downstream(ref, depth=depth, as_of_seq=seq, node_cap=node_cap)
    below = [n for n in graph.nodes if n.direction != "root"]
    kinds: dict[str, list[str]] = defaultdict(list)
    dataset_types = _attribute(Dataset, [n.pk for n in below if n.kind == NodeKind.DATASET], "dataset_type")
    job_types = _attribute(Job, [n.pk for n in below if n.kind == NodeKind.JOB], "job_type")
    for n in below:
        if n.kind == NodeKind.DATASET:
            kinds[f"dataset:{(dataset_types.get(n.pk) or 'DATASET').upper()}"].append(n.id)
        else:
            kinds[f"job:{(job_types.get(n.pk) or 'JOB').upper()}"].append(n.id)
    truncated = graph.truncated
    if ref.kind == NodeKind.DATASET_FIELD:
        columns = column_lineage(ref, depth=depth, with_downstream=True, upstream=False, as_of_seq=seq)
        kinds["datasetField"] = [n.id for n in columns.nodes if n.id != ref.node_id]
        truncated = truncated or columns.truncated
    groups = tuple(ImpactGroup(kind, tuple(sorted(ids))) for kind, ids in sorted(kinds.items()) if ids)
    return ImpactResult(
        root=ref.node_id,
        groups=groups,
        total=sum(len(g.node_ids) for g in groups),
        as_of_seq=seq,
        truncated=truncated,
    )


# --- Column lineage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnNode:
    id: str
    namespace: str
    dataset: str
    field: str
    dataset_pk: int
    type: str  # from the schema as of the query; "" if the schema does not list the field
    depth: int
    direction: str


@dataclass(frozen=True)
class ColumnEdge:
    origin: str  # input column
    destination: str  # output column
    transformation_type: str
    subtype: str
    description: str
    masking: bool
    job: str  # job node id, "" when declared by a DatasetEvent


@dataclass(frozen=True)
class ColumnGraph:
    root: str
    nodes: tuple[ColumnNode, ...]
    edges: tuple[ColumnEdge, ...]
    as_of_seq: int
    truncated: bool

    def to_networkx(self) -> nx.MultiDiGraph:
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(n.id for n in self.nodes)
        for e in self.edges:
            graph.add_edge(e.origin, e.destination, type=e.transformation_type, subtype=e.subtype, masking=e.masking)
        return graph


def _start_columns(ref: NodeRef, at: _At) -> set[tuple[int, str]]:
    if ref.kind == NodeKind.DATASET_FIELD:
        return {(ref.pk, ref.field)}
    if ref.kind in (NodeKind.JOB, NodeKind.RUN):
        job = _start(ref).pk
        datasets = {d for _j, d in _edges(at, direction=OUT, jobs=[job])}
    else:
        datasets = {ref.pk}
    columns = set(DatasetField.objects.filter(at.valid(), dataset_id__in=datasets).values_list("dataset_id", "name"))
    columns |= set(
        ColumnLineageEdge.objects.filter(at.valid(), output_dataset_id__in=datasets)
        .exclude(output_field="")
        .values_list("output_dataset_id", "output_field")
    )
    return columns


_EDGE_COLUMNS = (
    "output_dataset_id",
    "output_field",
    "input_dataset_id",
    "input_field",
    "transformation_type",
    "subtype",
    "description",
    "masking",
    "job_id",
)


def _column_edges(at: _At, frontier: set[tuple[int, str]], *, upstream: bool) -> list[tuple[Any, ...]]:
    """Field-level edges true at ``at`` into (upstream) or out of (downstream) the frontier columns."""
    side = "output" if upstream else "input"
    by_dataset: dict[int, set[str]] = defaultdict(set)
    for dataset, name in frontier:
        by_dataset[dataset].add(name)
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(by_dataset)):
        names = sorted({n for d in chunk for n in by_dataset[d]})
        for name_chunk in _chunks(names):
            query = ColumnLineageEdge.objects.filter(
                at.valid(), **{f"{side}_dataset_id__in": chunk, f"{side}_field__in": name_chunk}
            ).exclude(input_field="")
            for row in query.values_list(*_EDGE_COLUMNS):
                key = (row[0], row[1]) if upstream else (row[2], row[3])
                if key in frontier:
                    rows.append(row)
    return rows


def column_lineage(
    node: NodeRef | str,
    *,
    depth: int = 20,
    with_downstream: bool = False,
    upstream: bool = True,
    as_of_seq: int | None = None,
    as_of: datetime | None = None,
    node_cap: int = DEFAULT_NODE_CAP,
) -> ColumnGraph:
    """Column-level lineage of a field, a dataset (all its columns) or a job (its outputs' columns).

    Upstream by default, as the reference server does; ``with_downstream`` adds the columns fed
    from them. Dataset-level dependencies (a FILTER or JOIN key affecting a whole dataset) are
    not column nodes and are left out.
    """
    _check_depth("depth", depth)
    ref = node_parse(node) if isinstance(node, str) else node
    if ref.version is not None and with_downstream:
        raise InvalidQuery("A node version cannot be given with withDownstream=true.", path="nodeId")
    if ref.version is not None and as_of_seq is None and as_of is None:
        as_of_seq = _version_last_seq(ref)
    at = _at(as_of_seq=as_of_seq, as_of=as_of)
    start = _start_columns(ref, at)
    columns: dict[tuple[int, str], tuple[int, str]] = dict.fromkeys(start, (0, "root"))
    edges: set[tuple[Any, ...]] = set()
    truncated = False
    directions = ([True] if upstream else []) + ([False] if with_downstream else [])
    for going_up in directions:
        frontier = set(start)
        for level in range(1, depth + 1):
            if not frontier:
                break
            nxt: set[tuple[int, str]] = set()
            for row in _column_edges(at, frontier, upstream=going_up):
                other = (row[2], row[3]) if going_up else (row[0], row[1])
                if other not in columns:
                    if len(columns) >= node_cap:
                        truncated = True
                        continue
                    columns[other] = (level, "upstream" if going_up else "downstream")
                    nxt.add(other)
                edges.add(row)
            frontier = nxt
    return _freeze_columns(ref, columns, edges, at, truncated)


def _version_last_seq(ref: NodeRef) -> int:
    assert ref.version is not None
    row = DatasetVersion.objects.filter(version=ref.version, dataset_id=ref.pk).values_list("first_seq", "valid_to_seq")
    found = row.first()
    if found is None:
        raise NotFound(f"Version {ref.version} of {ref.namespace}:{ref.name} not found.")
    _first, until = found
    return until - 1 if until is not None else as_of_resolve()


def _freeze_columns(
    ref: NodeRef,
    columns: dict[tuple[int, str], tuple[int, str]],
    edges: set[tuple[Any, ...]],
    at: _At,
    truncated: bool,
) -> ColumnGraph:
    dataset_names = _names(Dataset, {d for d, _ in columns})
    job_names = _names(Job, {row[8] for row in edges if row[8] is not None})
    types: dict[tuple[int, str], str] = {}
    for chunk in _chunks(sorted(dataset_names)):
        for dataset, name, kind in DatasetField.objects.filter(at.valid(), dataset_id__in=chunk).values_list(
            "dataset_id", "name", "type"
        ):
            types[(dataset, name)] = kind

    def col_id(dataset: int, name: str) -> str:
        return node_id(NodeKind.DATASET_FIELD, *dataset_names[dataset], name)

    nodes = tuple(
        sorted(
            (
                ColumnNode(
                    id=col_id(d, f),
                    namespace=dataset_names[d][0],
                    dataset=dataset_names[d][1],
                    field=f,
                    dataset_pk=d,
                    type=types.get((d, f), ""),
                    depth=depth,
                    direction=way,
                )
                for (d, f), (depth, way) in columns.items()
            ),
            key=lambda n: (n.depth, n.id),
        )
    )
    frozen = tuple(
        sorted(
            {
                ColumnEdge(
                    origin=col_id(row[2], row[3]),
                    destination=col_id(row[0], row[1]),
                    transformation_type=row[4],
                    subtype=row[5],
                    description=row[6],
                    masking=row[7],
                    job=node_id(NodeKind.JOB, *job_names[row[8]]) if row[8] is not None else "",
                )
                for row in edges
                if (row[0], row[1]) in columns and (row[2], row[3]) in columns
            },
            key=lambda e: (e.origin, e.destination, e.transformation_type, e.subtype, e.job),
        )
    )
    return ColumnGraph(root=ref.node_id, nodes=nodes, edges=frozen, as_of_seq=at.seq, truncated=truncated)


# --- Canonical dump ------------------------------------------------------------------------------------


def graph_facts(*, as_of_seq: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every graph fact true as of a sequence, without surrogate keys, sorted: for comparing graphs.

    Replaying ledger entries 1..K into an empty database must give the same facts as the
    original database as of K. Attributes that only hold the latest value (``facets``,
    ``updated_at``, ``last_seq``) are not facts as of a sequence and are left out.
    """
    at = _at(as_of_seq=as_of_seq)
    seq = at.seq

    def until(value: int | None) -> int | None:
        return value if value is not None and value <= seq else None

    known = Q(first_seq__lte=seq)
    facts: dict[str, list[tuple[Any, ...]]] = {
        "namespaces": list(Namespace.objects.filter(known).values_list("name", "first_seq", "created_at")),
        "datasets": list(
            Dataset.objects.filter(known).values_list("namespace__name", "name", "first_seq", "created_at")
        ),
        "dataset_versions": [
            (*row[:-1], until(row[-1]))
            for row in DatasetVersion.objects.filter(known).values_list(
                "dataset__namespace__name",
                "dataset__name",
                "version",
                "first_seq",
                "created_at",
                "content_hash",
                "lifecycle_state",
                "producer_version",
                "created_by_run__run_id",
                "valid_to_seq",
            )
        ],
        "dataset_fields": [
            (*row[:-1], until(row[-1]))
            for row in DatasetField.objects.filter(known).values_list(
                "dataset__namespace__name",
                "dataset__name",
                "name",
                "type",
                "description",
                "ordinal",
                "first_seq",
                "valid_to_seq",
            )
        ],
        "jobs": list(Job.objects.filter(known).values_list("namespace__name", "name", "first_seq", "created_at")),
        "job_versions": [
            (*row[:-1], until(row[-1]))
            for row in JobVersion.objects.filter(known).values_list(
                "job__namespace__name",
                "job__name",
                "version",
                "first_seq",
                "content_hash",
                "location",
                "sql",
                "valid_to_seq",
            )
        ],
        "runs": list(
            Run.objects.filter(known).values_list(
                "run_id",
                "job__namespace__name",
                "job__name",
                "first_seq",
                "created_at",
                "parent__run_id",
                "root__run_id",
            )
        ),
        "run_reports": list(Run.objects.filter(reported_seq__lte=seq).values_list("run_id", "reported_seq")),
        "run_states": list(
            RunStateChange.objects.filter(seq__lte=seq).values_list("run__run_id", "state", "event_time", "seq")
        ),
        "run_io": list(
            RunDataset.objects.filter(known).values_list(
                "run__run_id", "dataset__namespace__name", "dataset__name", "direction", "first_seq", "event_time"
            )
        ),
        "job_edges": list(
            JobDatasetEdge.objects.filter(at.valid()).values_list(
                "job__namespace__name",
                "job__name",
                "dataset__namespace__name",
                "dataset__name",
                "direction",
                "source",
                "first_seq",
            )
        ),
        "column_edges": list(
            ColumnLineageEdge.objects.filter(at.valid()).values_list(
                "fact_key",
                "output_dataset__name",
                "output_field",
                "input_dataset__name",
                "input_field",
                "dataset_level_input_field",
                "transformation_type",
                "subtype",
                "masking",
                "job__name",
                "first_seq",
            )
        ),
        "symlinks": list(
            DatasetSymlink.objects.filter(at.valid()).values_list(
                "dataset__namespace__name",
                "dataset__name",
                "canonical__namespace__name",
                "canonical__name",
                "identifier_type",
                "first_seq",
            )
        ),
    }
    return {name: sorted(rows, key=repr) for name, rows in facts.items()}
