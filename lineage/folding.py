"""Fold accepted events into the stored provenance graph, a batch at a time.

Everything here runs in a fold transaction behind the ledger append (``graph_catch_up`` in
lineage.services holds the graph head while it folds the next entries in sequence order). A batch costs a
fixed number of queries whatever its size: the state the batch needs is loaded first (one query
per table), every event is then applied in ledger order to that state in memory, and the changes
are written back with bulk inserts and upserts on natural keys. Because events are applied one
by one in sequence order, the graph does not depend on how the ledger was cut into batches:
replaying a ledger prefix into an empty database yields the same facts (see ``graph_replay``).

Rules (the issue's decisions, in one place):

- A dataset version changes only when its content-describing facts change: the schema fields,
  the lifecycle state (``lifecycleStateChange``) or the producer's ``version`` facet. A facet an
  event does not carry keeps its previous value. Every run edge records the version it saw.
- A job version is the job's code (``sourceCodeLocation``, ``sourceCode``, ``sql`` facets) and
  its input/output set. For runs it is settled when the run reaches a terminal state, from the
  union of everything the run's events named (START events often name only inputs); a JobEvent
  declares it directly. A job's very first event gives it a first version.
- Symlinks: an identifier of type TABLE in a ``symlinks`` facet is the canonical dataset and the
  other names become its aliases; without one, the dataset named by the event is canonical. A
  ``RENAME`` lifecycle change makes the previous identifier an alias of the new name. From then
  on every fact about an alias lands on its canonical dataset, and the alias's open job edges
  and column-lineage edges end and continue on the canonical dataset.
- Column lineage: a job's ``columnLineage`` facet for an output dataset replaces that job's
  earlier edges into the dataset.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Model, Q

from lineage.bulk import bulk_insert as _bulk
from lineage.canonical import canonical_json
from lineage.models import (
    TERMINAL_STATES,
    ColumnLineageEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DatasetVersion,
    EdgeDirection,
    GraphCheckpoint,
    Job,
    JobDatasetEdge,
    JobVersion,
    LedgerEntry,
    Namespace,
    Run,
    RunDataset,
    RunState,
    RunStateChange,
    Tag,
)
from lineage.prepared import PreparedRows

Key = tuple[str, str]  # (namespace, name) of a dataset or job
IN, OUT = EdgeDirection.INPUT.value, EdgeDirection.OUTPUT.value
RUN_EDGE, STATIC_EDGE = JobDatasetEdge.Source.RUN.value, JobDatasetEdge.Source.STATIC.value
# Fixed namespace for the name-based UUIDs of dataset and job versions.
VERSION_UUID_NAMESPACE = uuid.UUID("8f3b3d52-8a7e-4a55-9d0c-5b0c1f6a2e11")
# Rows per IN (...) lookup: well under SQLite's parameter limit.
CHUNK = 2000
DIRECT_SUBTYPES = frozenset({"IDENTITY", "TRANSFORMATION", "AGGREGATION"})
INDIRECT_SUBTYPES = frozenset({"JOIN", "GROUP_BY", "FILTER", "SORT", "WINDOW", "CONDITIONAL"})
CODE_FACETS = ("sourceCodeLocation", "sourceCode", "sql")


@dataclass(frozen=True)
class FoldItem:
    seq: int
    kind: str  # RunEvent | DatasetEvent | JobEvent
    event: dict[str, Any]
    event_time: datetime
    received_at: datetime | None = None  # from the ledger entry; looked up where not given


@dataclass
class Touched:
    """What a batch touched, for follow-up work (policy checks)."""

    dataset_ids: set[int] = field(default_factory=set)
    job_ids: set[int] = field(default_factory=set)
    run_ids: set[int] = field(default_factory=set)


def run_current_state(history: Sequence[tuple[datetime, int, str]]) -> tuple[str, datetime | None]:
    """The state a run is in, given (event_time, seq, state) reports in any order.

    The latest terminal report wins if there is one (a late START never reopens a finished
    run); otherwise the latest report by event time, ties broken by ledger order.
    """
    if not history:
        return RunState.NEW, None
    terminal = [h for h in history if h[2] in TERMINAL_STATES]
    when, _seq, state = max(terminal or history)
    return state, when


def graph_fold(items: Sequence[FoldItem]) -> Touched:
    """Fold a batch of accepted events (in ledger order) into the graph."""
    if not items:
        return Touched()
    return _Batch(sorted(items, key=lambda i: i.seq)).fold()


def graph_replay(*, upto_seq: int | None = None, batch_size: int = 500) -> int:
    """Fold the ledger's events up to ``upto_seq`` (all by default) into the graph, in ledger order.

    For rebuilding the graph in an empty database; each batch is its own transaction. Returns the
    number of events folded.
    """
    from lineage.validation import validate_event

    last, count = 0, 0
    while True:
        rows = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EVENT, seq__gt=last).order_by("seq")
        if upto_seq is not None:
            rows = rows.filter(seq__lte=upto_seq)
        batch = list(rows.values_list("seq", "payload")[:batch_size])
        if not batch:
            return count
        items = []
        for seq, payload in batch:
            event = orjson.loads(payload)
            checked = validate_event(event)
            items.append(FoldItem(seq=seq, kind=checked.kind, event=event, event_time=checked.event_time))
        with transaction.atomic():
            graph_fold(items)
        last, count = batch[-1][0], count + len(batch)


# --- Reading events ------------------------------------------------------------------------------


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _key(node: object) -> Key | None:
    node = _dict(node)
    ns, name = node.get("namespace"), node.get("name")
    if isinstance(ns, str) and isinstance(name, str) and ns and name:
        return (ns, name)
    return None


@dataclass(frozen=True)
class _Mention:
    """A dataset named by an event: its key, dataset facets and input/output facets."""

    key: Key
    facets: dict[str, Any]
    io_facets: dict[str, Any]

    @functools.cached_property
    def column_facts(self) -> list[_ColumnFact]:
        """The edges of its ``columnLineage`` facet; read once, when the batch loads and applies."""
        return _column_facts(_dict(self.facets.get("columnLineage")))


@dataclass(frozen=True)
class _RunRef:
    run_id: uuid.UUID
    job: Key


@dataclass
class _Event:
    seq: int
    kind: str
    time: datetime
    state: str = ""
    job: Key | None = None
    job_facets: dict[str, Any] = field(default_factory=dict)
    run_id: uuid.UUID | None = None
    run_facets: dict[str, Any] = field(default_factory=dict)
    parent: _RunRef | None = None
    root: _RunRef | None = None
    inputs: list[_Mention] = field(default_factory=list)
    outputs: list[_Mention] = field(default_factory=list)
    dataset: _Mention | None = None

    @property
    def mentions(self) -> list[_Mention]:
        return [*self.inputs, *self.outputs, *([self.dataset] if self.dataset else [])]


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _run_ref(node: object) -> _RunRef | None:
    node = _dict(node)
    run_id = _uuid(_dict(node.get("run")).get("runId"))
    job = _key(node.get("job"))
    return _RunRef(run_id, job) if run_id and job else None


def _mentions(items: object, io_key: str) -> list[_Mention]:
    found = []
    for item in items if isinstance(items, list) else []:
        key = _key(item)
        if key:
            found.append(_Mention(key, _dict(item.get("facets")), _dict(item.get(io_key))))
    return found


def _parse(item: FoldItem) -> _Event:
    ev = item.event
    parsed = _Event(seq=item.seq, kind=item.kind, time=item.event_time)
    if item.kind == "DatasetEvent":
        key = _key(ev.get("dataset"))
        if key:
            parsed.dataset = _Mention(key, _dict(_dict(ev.get("dataset")).get("facets")), {})
        return parsed
    parsed.job = _key(ev.get("job"))
    parsed.job_facets = _dict(_dict(ev.get("job")).get("facets"))
    parsed.inputs = _mentions(ev.get("inputs"), "inputFacets")
    parsed.outputs = _mentions(ev.get("outputs"), "outputFacets")
    if item.kind == "RunEvent":
        run = _dict(ev.get("run"))
        parsed.run_id = _uuid(run.get("runId"))
        parsed.run_facets = _dict(run.get("facets"))
        parsed.state = _str(ev.get("eventType"))
        parent = _dict(parsed.run_facets.get("parent"))
        parsed.parent = _run_ref(parent)
        parsed.root = _run_ref(parent.get("root"))
    return parsed


def _referenced_keys(ev: _Event) -> Iterator[Key]:
    """Every dataset an event names, including through symlinks, renames and column lineage."""
    for mention in ev.mentions:
        yield mention.key
        for ident in _symlink_identifiers(mention.facets):
            yield ident[0]
        previous = _renamed_from(mention.facets)
        if previous:
            yield previous
        for fact in mention.column_facts:
            yield fact.input


def _symlink_identifiers(facets: dict[str, Any]) -> list[tuple[Key, str]]:
    found = []
    for ident in _dict(facets.get("symlinks")).get("identifiers") or []:
        key = _key(ident)
        if key:
            found.append((key, _str(_dict(ident).get("type"))))
    return found


def _renamed_from(facets: dict[str, Any]) -> Key | None:
    change = _dict(facets.get("lifecycleStateChange"))
    if _str(change.get("lifecycleStateChange")).upper() != "RENAME":
        return None
    return _key(change.get("previousIdentifier"))


@dataclass(frozen=True)
class _ColumnFact:
    """One column-lineage edge as reported, before dataset keys are resolved to canonical ones."""

    output_field: str
    input: Key
    input_field: str
    dataset_level_input_field: str
    transformation_type: str
    subtype: str
    description: str
    masking: bool


def _transformation(tr: dict[str, Any], *, default_type: str) -> tuple[str, str, str, bool]:
    subtype = _str(tr.get("subtype")).upper()
    subtype = subtype if subtype in DIRECT_SUBTYPES | INDIRECT_SUBTYPES else ""
    kind = _str(tr.get("type")).upper()
    if kind not in ("DIRECT", "INDIRECT"):
        kind = "INDIRECT" if subtype in INDIRECT_SUBTYPES else default_type
    return kind, subtype, _str(tr.get("description")), tr.get("masking") is True


def _legacy_transformation(spec: dict[str, Any]) -> tuple[str, str, str, bool]:
    legacy = _str(spec.get("transformationType")).upper()
    description = _str(spec.get("transformationDescription"))
    if legacy in DIRECT_SUBTYPES:
        return "DIRECT", legacy, description, False
    if legacy == "MASKED":
        return "DIRECT", "TRANSFORMATION", description, True
    return "DIRECT", "", description, False


def _column_facts(facet: dict[str, Any]) -> list[_ColumnFact]:
    """Edges of a ColumnLineageDatasetFacet (1-0-0 … 1-2-0), deduplicated, in a stable order."""
    facts: dict[_ColumnFact, None] = {}
    for output_field, spec in _dict(facet.get("fields")).items():
        spec = _dict(spec)
        for inp in spec.get("inputFields") or []:
            key, input_field = _key(inp), _str(_dict(inp).get("field"))
            if not key or not input_field:
                continue
            transformations = [t for t in _dict(inp).get("transformations") or [] if isinstance(t, dict)]
            described = (
                [_transformation(t, default_type="DIRECT") for t in transformations]
                if transformations
                else [_legacy_transformation(spec)]
            )
            for kind, subtype, description, masking in described:
                facts[_ColumnFact(output_field, key, input_field, "", kind, subtype, description, masking)] = None
    for inp in facet.get("dataset") or []:
        key = _key(inp)
        if not key:
            continue
        transformations = [t for t in _dict(inp).get("transformations") or [] if isinstance(t, dict)]
        column = _str(_dict(inp).get("field"))
        for kind, subtype, description, masking in [
            _transformation(t, default_type="INDIRECT") for t in transformations
        ] or [("INDIRECT", "", "", False)]:
            facts[_ColumnFact("", key, "", column, kind, subtype, description, masking)] = None
    return list(facts)


def _flatten_schema(fields: object, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(dotted name, type, description) of every schema field, nested ones after their parent."""
    for item in fields if isinstance(fields, list) else []:
        name = _str(_dict(item).get("name"))
        if not name:
            continue
        dotted = f"{prefix}{name}"
        yield dotted, _str(item.get("type")), _str(item.get("description"))
        yield from _flatten_schema(item.get("fields"), f"{dotted}.")


def _content_hash(value: object) -> str:
    """SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


EMPTY_SCHEMA_HASH = hashlib.sha256(b"[]").hexdigest()


def _version_uuid(kind: str, key: Key, first_seq: int, content_hash: str) -> uuid.UUID:
    return uuid.uuid5(VERSION_UUID_NAMESPACE, "\x1f".join([kind, key[0], key[1], str(first_seq), content_hash]))


def _tag_names(facets: dict[str, Any]) -> Iterator[str]:
    for tag in _dict(facets.get("tags")).get("tags") or []:
        tag = _dict(tag)
        key, value = _str(tag.get("key")), _str(tag.get("value"))
        if key:
            yield key if value.lower() in ("", "true") else f"{key}:{value}"


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- In-memory state of one batch ----------------------------------------------------------------
# Mutable records compared by identity (eq=False). Keys are natural keys; database ids are only
# needed when writing, and come from the loaded rows or from the inserts.


@dataclass(eq=False)
class _DatasetVersionState:
    version: uuid.UUID
    dataset: Key
    first_seq: int
    created_at: datetime
    schema_hash: str
    lifecycle_state: str
    producer_version: str
    schema_fields: list[Any] | None = None  # None: loaded lazily, or the same as the previous version's
    facets: dict[str, Any] = field(default_factory=dict)
    created_by_run: uuid.UUID | None = None
    valid_to_seq: int | None = None
    is_new: bool = False

    @property
    def content_hash(self) -> str:
        return _content_hash([self.schema_hash, self.lifecycle_state, self.producer_version])


@dataclass(eq=False)
class _Field:
    name: str
    type: str
    description: str
    ordinal: int
    first_seq: int
    created_at: datetime
    valid_to_seq: int | None = None


@dataclass(eq=False)
class _DatasetState:
    key: Key
    id: int | None
    first_seq: int
    created_at: datetime
    updated_at: datetime
    last_seq: int
    dataset_type: str
    facets: dict[str, Any]
    version: _DatasetVersionState | None
    touched: bool = False
    facets_changed: bool = False
    base_version: _DatasetVersionState | None = None  # current when the batch started


@dataclass(eq=False)
class _JobVersionState:
    version: uuid.UUID
    job: Key
    first_seq: int
    created_at: datetime
    content_hash: str
    content: dict[str, Any]
    facets: dict[str, Any]
    valid_to_seq: int | None = None
    is_new: bool = False


@dataclass(eq=False)
class _JobState:
    key: Key
    id: int | None
    first_seq: int
    created_at: datetime
    updated_at: datetime
    last_seq: int
    job_type: str
    facets: dict[str, Any]
    version: _JobVersionState | None
    touched: bool = False
    facets_changed: bool = False


@dataclass(eq=False)
class _RunState:
    run_id: uuid.UUID
    id: int | None
    job: Key
    first_seq: int
    last_seq: int
    is_placeholder: bool
    reported_seq: int | None
    created_at: datetime | None
    parent: uuid.UUID | None
    root: uuid.UUID | None
    job_version: uuid.UUID | None
    facets: dict[str, Any]
    nominal_start_time: datetime | None = None
    nominal_end_time: datetime | None = None
    history: list[tuple[datetime, int, str]] = field(default_factory=list)
    state: str = RunState.NEW
    state_event_time: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    touched: bool = False
    facets_changed: bool = False
    hierarchy_changed: bool = False


@dataclass(eq=False)
class _RunIo:
    run: uuid.UUID
    dataset: Key
    direction: str
    first_seq: int
    event_time: datetime
    last_seq: int
    dataset_version: uuid.UUID | None
    facets: dict[str, Any]
    dirty: bool = False


@dataclass(eq=False)
class _JobEdge:
    job: Key
    dataset: Key
    direction: str
    source: str
    first_seq: int
    last_seq: int
    event_time: datetime
    valid_to_seq: int | None = None
    id: int | None = None
    dirty: bool = False

    @property
    def key(self) -> tuple[Key, Key, str, str]:
        return (self.job, self.dataset, self.direction, self.source)


@dataclass(eq=False)
class _ColumnEdge:
    fact_key: str
    job: Key | None
    output: Key
    fact: _ColumnFact  # with the input resolved to its canonical dataset
    first_seq: int
    event_time: datetime
    valid_to_seq: int | None = None
    id: int | None = None


@dataclass(eq=False)
class _Symlink:
    dataset: Key
    canonical: Key
    identifier_type: str
    first_seq: int
    event_time: datetime
    valid_to_seq: int | None = None
    id: int | None = None


def _column_fact_key(job: Key | None, output: Key, fact: _ColumnFact) -> str:
    parts = [
        *(job or ("", "")),
        *output,
        fact.output_field,
        *fact.input,
        fact.input_field,
        fact.dataset_level_input_field,
        fact.transformation_type,
        fact.subtype,
        fact.description,
        "1" if fact.masking else "0",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _by_namespace(keys: Iterable[Key]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for ns, name in keys:
        grouped[ns].add(name)
    return grouped


# --- the batch's reads, compiled once per connection (see lineage.prepared) ----------------------

# Datasets and jobs are read with the same first eight columns (the loaders unpack them by index).
_NODE_COLUMNS = ("id", "namespace_id", "namespace__name", "name", "first_seq", "created_at", "updated_at", "last_seq")
_DATASET_COLUMNS = (
    *_NODE_COLUMNS,
    "dataset_type",
    "facets",
    "current_version__version",
    "current_version__first_seq",
    "current_version__created_at",
    "current_version__schema_hash",
    "current_version__lifecycle_state",
    "current_version__producer_version",
)
_DATASETS_BY_ID = PreparedRows(lambda ids: Dataset.objects.filter(id__any=ids).values_list(*_DATASET_COLUMNS), 1)
_DATASETS_BY_NAME = PreparedRows(
    lambda ns, names: Dataset.objects.filter(namespace__name__any=ns, name__any=names).values_list(*_DATASET_COLUMNS),
    2,
)
_OPEN_SYMLINKS = PreparedRows(
    lambda ids: DatasetSymlink.objects.filter(
        Q(dataset_id__any=ids) | Q(canonical_id__any=ids), valid_to_seq__isnull=True
    ).values_list(
        "id",
        "dataset_id",
        "dataset__namespace__name",
        "dataset__name",
        "canonical_id",
        "canonical__namespace__name",
        "canonical__name",
        "identifier_type",
        "first_seq",
        "event_time",
    ),
    1,
)
_JOBS_BY_NAME = PreparedRows(
    lambda ns, names: Job.objects.filter(namespace__name__any=ns, name__any=names).values_list(
        *_NODE_COLUMNS,
        "job_type",
        "facets",
        "current_version__version",
        "current_version__first_seq",
        "current_version__created_at",
        "current_version__content_hash",
        "current_version__facets",
    ),
    2,
)
_RUNS = PreparedRows(
    lambda run_ids: Run.objects.filter(run_id__any=run_ids).values_list(
        "id",
        "run_id",
        "job__namespace__name",
        "job__name",
        "job_id",
        "first_seq",
        "last_seq",
        "is_placeholder",
        "reported_seq",
        "created_at",
        "parent_id",
        "parent__run_id",
        "root_id",
        "root__run_id",
        "job_version_id",
        "facets",
        "nominal_start_time",
        "nominal_end_time",
    ),
    1,
)
_RUN_STATES = PreparedRows(
    lambda pks: RunStateChange.objects.filter(run_id__any=pks).values_list("run_id", "state", "event_time", "seq"), 1
)
_RUN_IO = PreparedRows(
    lambda pks: RunDataset.objects.filter(run_id__any=pks).values_list(
        "run_id",
        "dataset_id",
        "dataset__namespace__name",
        "dataset__name",
        "direction",
        "first_seq",
        "event_time",
        "last_seq",
        "dataset_version_id",
        "facets",
    ),
    1,
)
_JOB_EDGE_COLUMNS = (
    "id",
    "job_id",
    "job__namespace__name",
    "job__name",
    "dataset_id",
    "dataset__namespace__name",
    "dataset__name",
    "direction",
    "source",
    "first_seq",
    "last_seq",
    "event_time",
)
_COLUMN_EDGE_COLUMNS = (
    "id",
    "fact_key",
    "job_id",
    "job__namespace__name",
    "job__name",
    "output_dataset_id",
    "output_dataset__namespace__name",
    "output_dataset__name",
    "output_field",
    "input_dataset_id",
    "input_dataset__namespace__name",
    "input_dataset__name",
    "input_field",
    "dataset_level_input_field",
    "transformation_type",
    "subtype",
    "description",
    "masking",
    "first_seq",
    "event_time",
)


def _open_edges(model: type[Model], key: str, columns: tuple[str, ...]) -> PreparedRows:
    """The edges still open (no ``valid_to_seq``) whose ``key`` is among the given ids."""
    return PreparedRows(
        lambda ids: model._default_manager.filter(**{f"{key}__any": ids, "valid_to_seq__isnull": True}).values_list(
            *columns
        ),
        1,
    )


_OPEN_JOB_EDGES_OF_JOBS = _open_edges(JobDatasetEdge, "job_id", _JOB_EDGE_COLUMNS)
_OPEN_JOB_EDGES_OF_DATASETS = _open_edges(JobDatasetEdge, "dataset_id", _JOB_EDGE_COLUMNS)
_OPEN_COLUMN_EDGES_INTO = _open_edges(ColumnLineageEdge, "output_dataset_id", _COLUMN_EDGE_COLUMNS)
_OPEN_COLUMN_EDGES_FROM = _open_edges(ColumnLineageEdge, "input_dataset_id", _COLUMN_EDGE_COLUMNS)


class _Batch:
    """Load, apply in ledger order, write: see the module docstring."""

    def __init__(self, items: Sequence[FoldItem]) -> None:
        self.items = items
        self.events = [_parse(item) for item in items]
        # Ids of rows that exist (loaded, or inserted by this batch).
        self.namespace_ids: dict[str, int] = {}
        self.dataset_ids: dict[Key, int] = {}
        self.job_ids: dict[Key, int] = {}
        self.run_pks: dict[uuid.UUID, int] = {}
        self.namespaces: dict[str, tuple[int, datetime]] = {}  # first seen in this batch
        self.datasets: dict[Key, _DatasetState] = {}
        self.new_dataset_versions: list[_DatasetVersionState] = []
        self.closed_dataset_versions: list[_DatasetVersionState] = []  # loaded, ended by this batch
        self.open_new_fields: dict[tuple[Key, str], _Field] = {}
        self.closed_new_fields: list[tuple[Key, _Field]] = []
        self.fields_to_close: dict[tuple[Key, str], int] = {}  # loaded open fields, by natural key
        self.jobs: dict[Key, _JobState] = {}
        self.new_job_versions: list[_JobVersionState] = []
        self.closed_job_versions: list[_JobVersionState] = []
        self.runs: dict[uuid.UUID, _RunState] = {}
        self.state_changes: list[tuple[uuid.UUID, str, datetime, int]] = []
        self.run_io: dict[tuple[uuid.UUID, Key, str], _RunIo] = {}
        self.run_io_by_run: dict[uuid.UUID, set[tuple[Key, str]]] = defaultdict(set)
        self.job_edges: dict[tuple[Key, Key, str, str], _JobEdge] = {}  # open edges
        self.job_edges_by_dataset: dict[Key, set[tuple[Key, Key, str, str]]] = defaultdict(set)
        self.job_edges_by_job: dict[Key, set[tuple[Key, Key, str, str]]] = defaultdict(set)
        self.closed_job_edges: list[_JobEdge] = []
        self.column_edges: dict[str, _ColumnEdge] = {}  # open edges by fact key
        self.column_edges_by_output: dict[tuple[Key | None, Key], set[str]] = defaultdict(set)
        self.column_edges_by_dataset: dict[Key, set[str]] = defaultdict(set)
        self.closed_column_edges: list[_ColumnEdge] = []
        self.symlinks: dict[Key, _Symlink] = {}  # open symlinks by alias
        self.new_symlinks: list[_Symlink] = []
        self.closed_symlinks: list[_Symlink] = []  # loaded, ended by this batch
        self.tags: dict[str, tuple[int, datetime]] = {}

    def fold(self) -> Touched:
        self._load()
        for ev in self.events:
            self._apply(ev)
        return self._write()

    # -- load: one query per table, whatever the batch size -------------------------------------

    def _load(self) -> None:
        dataset_keys: set[Key] = set()
        alias_candidates: set[Key] = set()
        job_keys: set[Key] = set()
        run_ids: set[uuid.UUID] = set()
        for ev in self.events:
            dataset_keys.update(_referenced_keys(ev))
            for mention in ev.mentions:
                renamed = _renamed_from(mention.facets)
                if "symlinks" in mention.facets or renamed:
                    alias_candidates.add(mention.key)
                    alias_candidates.update(key for key, _ in _symlink_identifiers(mention.facets))
                    if renamed:
                        alias_candidates.add(renamed)
            for ref in (ev.parent, ev.root):
                if ref:
                    run_ids.add(ref.run_id)
                    job_keys.add(ref.job)
            if ev.job:
                job_keys.add(ev.job)
            if ev.run_id:
                run_ids.add(ev.run_id)
        self._load_datasets(dataset_keys)
        self._load_symlinks()
        # The canonical dataset of an alias candidate may become an alias itself.
        alias_candidates |= {self.symlinks[k].canonical for k in alias_candidates if k in self.symlinks}
        self._load_runs(run_ids)
        self._load_jobs(job_keys | {run.job for run in self.runs.values()})
        self._load_job_edges(alias_candidates)
        self._load_column_edges(alias_candidates)

    def _load_datasets(self, keys: set[Key], *, ids: Iterable[int] = ()) -> None:
        queries = [_DATASETS_BY_ID(chunk) for chunk in _chunks(ids)]
        for ns, names in _by_namespace(keys).items():
            queries += [_DATASETS_BY_NAME([ns], chunk) for chunk in _chunks(names)]
        for rows in queries:
            for row in rows:
                key = (row[2], row[3])
                version = None
                if row[10] is not None:
                    version = _DatasetVersionState(
                        version=row[10],
                        dataset=key,
                        first_seq=row[11],
                        created_at=row[12],
                        schema_hash=row[13],
                        lifecycle_state=row[14],
                        producer_version=row[15],
                    )
                self.namespace_ids[key[0]] = row[1]
                self.dataset_ids[key] = row[0]
                self.datasets[key] = _DatasetState(
                    key=key,
                    id=row[0],
                    first_seq=row[4],
                    created_at=row[5],
                    updated_at=row[6],
                    last_seq=row[7],
                    dataset_type=row[8],
                    facets=row[9],
                    version=version,
                    base_version=version,
                )

    def _load_symlinks(self) -> None:
        ids = list(self.dataset_ids.values())
        missing: set[int] = set()
        for chunk in _chunks(ids):
            rows = _OPEN_SYMLINKS(chunk)
            for pk, alias_id, ans, aname, canonical_id, cns, cname, kind, first_seq, when in rows:
                alias, canonical = (ans, aname), (cns, cname)
                self.dataset_ids[alias] = alias_id
                self.dataset_ids[canonical] = canonical_id
                self.symlinks[alias] = _Symlink(alias, canonical, kind, first_seq, when, id=pk)
                if canonical not in self.datasets:
                    missing.add(canonical_id)
        if missing:
            self._load_datasets(set(), ids=missing)

    def _load_jobs(self, keys: set[Key]) -> None:
        for ns, names in _by_namespace(keys).items():
            for chunk in _chunks(names):
                for row in _JOBS_BY_NAME([ns], chunk):
                    key = (row[2], row[3])
                    version = None
                    if row[10] is not None:
                        version = _JobVersionState(
                            version=row[10],
                            job=key,
                            first_seq=row[11],
                            created_at=row[12],
                            content_hash=row[13],
                            content={},
                            facets=row[14],
                        )
                    self.namespace_ids[key[0]] = row[1]
                    self.job_ids[key] = row[0]
                    self.jobs[key] = _JobState(
                        key=key,
                        id=row[0],
                        first_seq=row[4],
                        created_at=row[5],
                        updated_at=row[6],
                        last_seq=row[7],
                        job_type=row[8],
                        facets=row[9],
                        version=version,
                    )

    def _load_runs(self, run_ids: set[uuid.UUID]) -> None:
        by_pk: dict[int, _RunState] = {}
        for chunk in _chunks(run_ids):
            for row in _RUNS(chunk):
                (pk, run_id, jns, jname, job_id, first_seq, last_seq, placeholder, reported, created) = row[:10]
                (parent_pk, parent, root_pk, root, job_version, facets, nominal_start, nominal_end) = row[10:]
                if parent_pk is not None:
                    self.run_pks[parent] = parent_pk
                if root_pk is not None:
                    self.run_pks[root] = root_pk
                self.run_pks[run_id] = pk
                self.job_ids[(jns, jname)] = job_id
                state = _RunState(
                    run_id=run_id,
                    id=pk,
                    job=(jns, jname),
                    first_seq=first_seq,
                    last_seq=last_seq,
                    is_placeholder=placeholder,
                    reported_seq=reported,
                    created_at=created,
                    parent=parent,
                    root=root,
                    job_version=job_version,
                    facets=facets,
                    nominal_start_time=nominal_start,
                    nominal_end_time=nominal_end,
                )
                self.runs[state.run_id] = state
                by_pk[pk] = state
        for chunk in _chunks(by_pk):
            for run_pk, state_name, when, seq in _RUN_STATES(chunk):
                by_pk[run_pk].history.append((when, seq, state_name))
            for run_pk, dataset_id, ns, name, direction, io_first, when, io_last, version, io_facets in _RUN_IO(chunk):
                run_id, key = by_pk[run_pk].run_id, (ns, name)
                self.dataset_ids[key] = dataset_id
                self.run_io[(run_id, key, direction)] = _RunIo(
                    run_id, key, direction, io_first, when, io_last or io_first, version, io_facets
                )
                self.run_io_by_run[run_id].add((key, direction))
        for loaded in by_pk.values():
            self._derive_run_state(loaded)

    def _load_job_edges(self, alias_candidates: set[Key]) -> None:
        job_ids = [self.job_ids[k] for k in self.jobs]
        alias_ids = [self.dataset_ids[k] for k in alias_candidates if k in self.dataset_ids]
        queries = [_OPEN_JOB_EDGES_OF_JOBS(chunk) for chunk in _chunks(job_ids)]
        queries += [_OPEN_JOB_EDGES_OF_DATASETS(chunk) for chunk in _chunks(alias_ids)]
        for rows in queries:
            for pk, job_id, jns, jname, dataset_id, dns, dname, direction, source, first, last, when in rows:
                job, dataset = (jns, jname), (dns, dname)
                self.job_ids[job] = job_id
                self.dataset_ids[dataset] = dataset_id
                self._index_job_edge(_JobEdge(job, dataset, direction, source, first, last, when, id=pk))

    def _load_column_edges(self, alias_candidates: set[Key]) -> None:
        outputs = {self._resolve(m.key) for ev in self.events for m in ev.mentions if "columnLineage" in m.facets}
        output_ids = [self.dataset_ids[k] for k in outputs | alias_candidates if k in self.dataset_ids]
        input_ids = [self.dataset_ids[k] for k in alias_candidates if k in self.dataset_ids]
        queries = [_OPEN_COLUMN_EDGES_INTO(chunk) for chunk in _chunks(output_ids)]
        queries += [_OPEN_COLUMN_EDGES_FROM(chunk) for chunk in _chunks(input_ids)]
        for rows in queries:
            for row in rows:
                job = (row[3], row[4]) if row[2] is not None else None
                if job:
                    self.job_ids[job] = row[2]
                output, source = (row[6], row[7]), (row[10], row[11])
                self.dataset_ids[output] = row[5]
                self.dataset_ids[source] = row[9]
                fact = _ColumnFact(row[8], source, row[12], row[13], row[14], row[15], row[16], row[17])
                self._index_column_edge(_ColumnEdge(row[1], job, output, fact, row[18], row[19], id=row[0]))

    # -- apply: one event at a time, in ledger order, no queries ------------------------------------

    def _apply(self, ev: _Event) -> None:
        for mention in ev.mentions:
            self._declare_aliases(mention, ev)
        run = self._run_event(ev) if ev.run_id and ev.job else None
        # A run belongs to the job its first own event named, whatever later events say.
        job = self._touch_job(run.job if run else ev.job, ev) if ev.job else None
        declared: set[tuple[Key, str]] = set()
        for direction, mentions in ((IN, ev.inputs), (OUT, ev.outputs)):
            for mention in mentions:
                dataset = self._touch_dataset(mention, ev, run)
                declared.add((dataset.key, direction))
                if run is not None:
                    self._record_run_io(run, dataset, direction, mention, ev)
                if job is not None:
                    self._open_job_edge(job.key, dataset.key, direction, RUN_EDGE if run else STATIC_EDGE, ev)
        if ev.dataset:
            self._touch_dataset(ev.dataset, ev, None)
        if job is not None and ev.kind == "JobEvent":
            self._close_undeclared_static_edges(job.key, declared, ev)
            self._settle_job_version(job, declared, ev)
        if run is not None and job is not None:
            self._settle_run_job_version(run, job, ev)
        writers = [(None, ev.dataset)] if ev.dataset else [(job.key if job else None, m) for m in ev.outputs]
        for writer, mention in writers:
            if _dict(mention.facets.get("columnLineage")):
                self._replace_column_edges(writer, mention, ev)
        for facets in (ev.job_facets, ev.run_facets, *(m.facets for m in ev.mentions)):
            for name in _tag_names(facets):
                self.tags.setdefault(name, (ev.seq, ev.time))

    def _see_namespace(self, name: str, ev: _Event) -> None:
        self.namespaces.setdefault(name, (ev.seq, ev.time))

    # datasets

    def _resolve(self, key: Key) -> Key:
        link = self.symlinks.get(key)
        return link.canonical if link else key

    def _dataset(self, key: Key, ev: _Event, *, resolve: bool = True) -> _DatasetState:
        """The canonical dataset named by ``key`` (or that very one), created with an empty first version if new."""
        key = self._resolve(key) if resolve else key
        dataset = self.datasets.get(key)
        if dataset is None:
            self._see_namespace(key[0], ev)
            dataset = _DatasetState(key, None, ev.seq, ev.time, ev.time, ev.seq, "", {}, None)
            self.datasets[key] = dataset
        if dataset.version is None:
            self._new_dataset_version(dataset, (EMPTY_SCHEMA_HASH, [], "", ""), ev, None)
        dataset.touched = True
        dataset.last_seq = max(dataset.last_seq, ev.seq)
        dataset.updated_at = max(dataset.updated_at, ev.time)
        return dataset

    def _touch_dataset(self, mention: _Mention, ev: _Event, run: _RunState | None) -> _DatasetState:
        dataset = self._dataset(mention.key, ev)
        facets = mention.facets
        for name, value in facets.items():
            if dataset.facets.get(name) != value:
                dataset.facets[name] = value
                dataset.facets_changed = True
        kind = _str(_dict(facets.get("datasetType")).get("datasetType"))
        if kind:
            dataset.dataset_type = kind[:64]
        current = dataset.version
        assert current is not None
        schema = _dict(facets.get("schema"))
        fields = schema["fields"] if isinstance(schema.get("fields"), list) else None
        schema_hash = _content_hash(fields) if fields is not None else current.schema_hash
        lifecycle = _str(_dict(facets.get("lifecycleStateChange")).get("lifecycleStateChange")).upper()
        produced = _str(_dict(facets.get("version")).get("datasetVersion"))
        content = (schema_hash, fields, lifecycle or current.lifecycle_state, produced or current.producer_version)
        if (content[0], content[2], content[3]) != (
            current.schema_hash,
            current.lifecycle_state,
            current.producer_version,
        ):
            self._new_dataset_version(dataset, content, ev, run)
        elif current.is_new and current.first_seq == ev.seq:
            current.facets = dict(dataset.facets)  # the same event named it twice: keep every facet
        return dataset

    def _new_dataset_version(
        self,
        dataset: _DatasetState,
        content: tuple[str, list[Any] | None, str, str],
        ev: _Event,
        run: _RunState | None,
    ) -> None:
        schema_hash, fields, lifecycle, produced = content
        previous = dataset.version
        if fields is None and previous is not None and previous.first_seq == ev.seq:
            fields = previous.schema_fields  # carried over from the version being replaced
        if previous is not None and previous.first_seq == ev.seq:
            # A second change in the same event (the dataset is both input and output): the
            # event's last word is the version of that sequence.
            self.new_dataset_versions.remove(previous)
        elif previous is not None:
            previous.valid_to_seq = ev.seq
            if not previous.is_new:
                self.closed_dataset_versions.append(previous)
        version = _DatasetVersionState(
            version=uuid.UUID(int=0),
            dataset=dataset.key,
            first_seq=ev.seq,
            created_at=ev.time,
            schema_hash=schema_hash,
            lifecycle_state=lifecycle,
            producer_version=produced,
            schema_fields=fields,
            facets=dict(dataset.facets),
            created_by_run=run.run_id if run else None,
            is_new=True,
        )
        version.version = _version_uuid("dataset", dataset.key, ev.seq, version.content_hash)
        dataset.version = version
        self.new_dataset_versions.append(version)

    def _settle_schemas(self) -> None:
        """Fill in carried-over schemas and turn every schema change into field rows.

        Runs after the events are applied: only the datasets whose schema changed need the schema
        they had before the batch, and those are loaded in one query.
        """
        chains: dict[Key, list[_DatasetVersionState]] = defaultdict(list)
        for version in self.new_dataset_versions:
            chains[version.dataset].append(version)
        bases = {key: self.datasets[key].base_version for key in chains if self.datasets[key].base_version is not None}
        wanted = [
            base.version
            for key, base in bases.items()
            if base is not None
            and any(v.schema_fields is None or v.schema_hash != base.schema_hash for v in chains[key])
        ]
        loaded: dict[uuid.UUID, list[Any]] = {}
        for chunk in _chunks(wanted):
            loaded.update(DatasetVersion.objects.filter(version__in=chunk).values_list("version", "schema_fields"))
        for key, chain in chains.items():
            base = bases.get(key)
            previous_hash = base.schema_hash if base else EMPTY_SCHEMA_HASH
            previous_fields: list[Any] = loaded.get(base.version, []) if base else []
            for version in chain:
                if version.schema_fields is None:
                    version.schema_fields = previous_fields
                    continue
                if version.schema_hash != previous_hash:
                    self._change_fields(key, previous_fields, version.schema_fields, version)
                previous_hash, previous_fields = version.schema_hash, version.schema_fields

    def _change_fields(
        self, key: Key, old_schema: list[Any], new_schema: list[Any], version: _DatasetVersionState
    ) -> None:
        old = {name: (kind, description) for name, kind, description in _flatten_schema(old_schema)}
        new = list(_flatten_schema(new_schema))
        new_by_name = {name: (kind, description) for name, kind, description in new}
        for name, described in old.items():
            if new_by_name.get(name) != described:
                self._close_field(key, name, version.first_seq)
        opened: set[str] = set()
        for ordinal, (name, kind, description) in enumerate(new, start=1):
            if old.get(name) == (kind, description) or name in opened:
                continue  # unchanged, or repeated in the schema (the first one stands)
            opened.add(name)
            self.open_new_fields[(key, name)] = _Field(
                name[:1024], kind[:255], description, ordinal, version.first_seq, version.created_at
            )

    def _close_field(self, key: Key, name: str, seq: int) -> None:
        opened = self.open_new_fields.pop((key, name), None)
        if opened is None:
            self.fields_to_close.setdefault((key, name), seq)
        elif opened.first_seq != seq:  # opened and ended by the same event: never true
            opened.valid_to_seq = seq
            self.closed_new_fields.append((key, opened))

    # symlinks and renames

    def _declare_aliases(self, mention: _Mention, ev: _Event) -> None:
        identifiers = _symlink_identifiers(mention.facets)
        renamed = _renamed_from(mention.facets)
        if not identifiers and not renamed:
            return
        tables = [key for key, kind in identifiers if kind.upper() == "TABLE"]
        target = self._dataset(tables[0] if tables else mention.key, ev).key
        aliases = [(key, kind or "SYMLINK") for key, kind in identifiers]
        aliases.append((mention.key, "SYMLINK"))
        if renamed:
            aliases.append((renamed, "RENAME"))
        for alias, kind in aliases:
            self._make_alias(alias, target, kind.upper(), ev)

    def _make_alias(self, alias: Key, target: Key, kind: str, ev: _Event) -> None:
        """``alias`` names ``target`` from now on; its own aliases follow it, its open edges move."""
        if alias == target or self._resolve(alias) == target:
            return
        self._dataset(alias, ev, resolve=False)
        for key, link in list(self.symlinks.items()):
            if link.canonical == alias:  # no chains: the alias's own aliases follow it
                self._link(key, target, link.identifier_type, ev)
        self._link(alias, target, kind, ev)
        for edge_key in list(self.job_edges_by_dataset.get(alias, ())):
            edge = self.job_edges[edge_key]
            self._close_job_edge(edge, ev.seq)
            self._open_job_edge(edge.job, target, edge.direction, edge.source, ev)
        for fact_key in list(self.column_edges_by_dataset.get(alias, ())):
            column = self.column_edges[fact_key]
            self._close_column_edge(column, ev.seq)
            fact = column.fact
            if fact.input == alias:
                fact = replace(fact, input=target)
            self._open_column_edge(column.job, target if column.output == alias else column.output, fact, ev)

    def _link(self, alias: Key, target: Key, kind: str, ev: _Event) -> None:
        current = self.symlinks.get(alias)
        if current is not None:
            if current.canonical == target:
                return
            if current.id is None and current.first_seq == ev.seq:
                self.new_symlinks.remove(current)  # linked and relinked by one event: never true
            else:
                current.valid_to_seq = ev.seq
                if current.id is not None:
                    self.closed_symlinks.append(current)
        link = _Symlink(alias, target, kind[:64], ev.seq, ev.time)
        self.symlinks[alias] = link
        self.new_symlinks.append(link)

    # jobs

    def _job(self, key: Key, ev: _Event) -> _JobState:
        job = self.jobs.get(key)
        if job is None:
            self._see_namespace(key[0], ev)
            job = _JobState(key, None, ev.seq, ev.time, ev.time, ev.seq, "", {}, None)
            self.jobs[key] = job
        return job

    def _touch_job(self, key: Key, ev: _Event) -> _JobState:
        job = self._job(key, ev)
        job.touched = True
        job.last_seq = max(job.last_seq, ev.seq)
        job.updated_at = max(job.updated_at, ev.time)
        for name, value in ev.job_facets.items():
            if job.facets.get(name) != value:
                job.facets[name] = value
                job.facets_changed = True
        processing = _str(_dict(ev.job_facets.get("jobType")).get("processingType"))
        if processing:
            job.job_type = processing.upper()[:32]
        return job

    def _job_content(self, job: _JobState, io: Iterable[tuple[Key, str]]) -> dict[str, Any]:
        def code(name: str) -> dict[str, Any]:
            return {k: v for k, v in _dict(job.facets.get(name)).items() if not k.startswith("_")}

        pairs = list(io)
        return {
            **{name: code(name) for name in CODE_FACETS},
            "inputs": sorted([list(key) for key, d in pairs if d == IN]),
            "outputs": sorted([list(key) for key, d in pairs if d == OUT]),
        }

    def _settle_job_version(self, job: _JobState, io: Iterable[tuple[Key, str]], ev: _Event) -> None:
        content = self._job_content(job, io)
        digest = _content_hash(content)
        current = job.version
        if current is not None and current.content_hash == digest:
            return
        if current is not None and current.first_seq == ev.seq:
            self.new_job_versions.remove(current)
        elif current is not None:
            current.valid_to_seq = ev.seq
            if not current.is_new:
                self.closed_job_versions.append(current)
        job.version = _JobVersionState(
            version=_version_uuid("job", job.key, ev.seq, digest),
            job=job.key,
            first_seq=ev.seq,
            created_at=ev.time,
            content_hash=digest,
            content=content,
            facets=dict(job.facets),
            is_new=True,
        )
        self.new_job_versions.append(job.version)

    def _settle_run_job_version(self, run: _RunState, job: _JobState, ev: _Event) -> None:
        terminal = any(state in TERMINAL_STATES for _, _, state in run.history)
        if terminal or job.version is None:
            self._settle_job_version(job, self.run_io_by_run[run.run_id], ev)
            assert job.version is not None
            run.job_version = job.version.version
        elif run.job_version is None:
            run.job_version = job.version.version

    # job <-> dataset edges

    def _index_job_edge(self, edge: _JobEdge) -> None:
        self.job_edges[edge.key] = edge
        self.job_edges_by_dataset[edge.dataset].add(edge.key)
        self.job_edges_by_job[edge.job].add(edge.key)

    def _open_job_edge(self, job: Key, dataset: Key, direction: str, source: str, ev: _Event) -> None:
        edge = self.job_edges.get((job, dataset, direction, source))
        if edge is None:
            self._index_job_edge(_JobEdge(job, dataset, direction, source, ev.seq, ev.seq, ev.time, dirty=True))
        elif ev.seq > edge.last_seq:
            edge.last_seq = ev.seq
            edge.dirty = True

    def _close_job_edge(self, edge: _JobEdge, seq: int) -> None:
        del self.job_edges[edge.key]
        self.job_edges_by_dataset[edge.dataset].discard(edge.key)
        self.job_edges_by_job[edge.job].discard(edge.key)
        if edge.id is None and edge.first_seq == seq:
            return  # opened and ended by the same event: never true
        edge.valid_to_seq = seq
        edge.dirty = True
        self.closed_job_edges.append(edge)

    def _close_undeclared_static_edges(self, job: Key, declared: set[tuple[Key, str]], ev: _Event) -> None:
        for key in list(self.job_edges_by_job.get(job, ())):
            edge = self.job_edges[key]
            if edge.source == STATIC_EDGE and (edge.dataset, edge.direction) not in declared:
                self._close_job_edge(edge, ev.seq)

    # column lineage

    def _index_column_edge(self, edge: _ColumnEdge) -> None:
        self.column_edges[edge.fact_key] = edge
        self.column_edges_by_output[(edge.job, edge.output)].add(edge.fact_key)
        self.column_edges_by_dataset[edge.output].add(edge.fact_key)
        self.column_edges_by_dataset[edge.fact.input].add(edge.fact_key)

    def _open_column_edge(self, job: Key | None, output: Key, fact: _ColumnFact, ev: _Event) -> str:
        fact_key = _column_fact_key(job, output, fact)
        if fact_key not in self.column_edges:
            self._index_column_edge(_ColumnEdge(fact_key, job, output, fact, ev.seq, ev.time))
        return fact_key

    def _close_column_edge(self, edge: _ColumnEdge, seq: int) -> None:
        del self.column_edges[edge.fact_key]
        self.column_edges_by_output[(edge.job, edge.output)].discard(edge.fact_key)
        self.column_edges_by_dataset[edge.output].discard(edge.fact_key)
        self.column_edges_by_dataset[edge.fact.input].discard(edge.fact_key)
        if edge.id is None and edge.first_seq == seq:
            return
        edge.valid_to_seq = seq
        self.closed_column_edges.append(edge)

    def _replace_column_edges(self, job: Key | None, mention: _Mention, ev: _Event) -> None:
        output = self._resolve(mention.key)
        keep: set[str] = set()
        for fact in mention.column_facts:
            source = self._dataset(fact.input, ev).key  # kept even when not among the run's inputs
            keep.add(self._open_column_edge(job, output, replace(fact, input=source), ev))
        for fact_key in list(self.column_edges_by_output.get((job, output), ())):
            if fact_key not in keep:
                self._close_column_edge(self.column_edges[fact_key], ev.seq)

    # runs

    def _run(self, run_id: uuid.UUID, job: Key, ev: _Event) -> _RunState:
        run = self.runs.get(run_id)
        if run is None:
            self._job(job, ev)
            run = _RunState(
                run_id=run_id,
                id=None,
                job=job,
                first_seq=ev.seq,
                last_seq=ev.seq,
                is_placeholder=True,
                reported_seq=None,
                created_at=ev.time,
                parent=None,
                root=None,
                job_version=None,
                facets={},
                touched=True,
            )
            self.runs[run_id] = run
        return run

    def _run_event(self, ev: _Event) -> _RunState:
        assert ev.run_id is not None
        assert ev.job is not None
        run = self._run(ev.run_id, ev.job, ev)
        run.touched = True
        if run.reported_seq is None:
            run.reported_seq = ev.seq
            run.is_placeholder = False
            run.job = ev.job  # a placeholder only knew the job its child named
        run.last_seq = max(run.last_seq, ev.seq)
        for name, value in ev.run_facets.items():
            if run.facets.get(name) != value:
                run.facets[name] = value
                run.facets_changed = True
        nominal = _dict(ev.run_facets.get("nominalTime"))
        run.nominal_start_time = _timestamp(nominal.get("nominalStartTime")) or run.nominal_start_time
        run.nominal_end_time = _timestamp(nominal.get("nominalEndTime")) or run.nominal_end_time
        if ev.parent and ev.parent.run_id != run.run_id and run.parent is None:
            self._run(ev.parent.run_id, ev.parent.job, ev)
            run.parent = ev.parent.run_id
            run.hierarchy_changed = True
        if run.parent is not None and run.root is None:
            if ev.root and ev.root.run_id != run.run_id:
                self._run(ev.root.run_id, ev.root.job, ev)
                run.root = ev.root.run_id
            else:
                parent = self.runs[run.parent]
                run.root = parent.root or parent.run_id
            run.hierarchy_changed = True
        if ev.state:
            run.history.append((ev.time, ev.seq, ev.state))
            self.state_changes.append((run.run_id, ev.state, ev.time, ev.seq))
            self._derive_run_state(run)
        return run

    def _derive_run_state(self, run: _RunState) -> None:
        history = run.history
        run.state, run.state_event_time = run_current_state(history)
        starts = [when for when, _, state in history if state in (RunState.START, RunState.RUNNING)]
        run.started_at = min(starts) if starts else (min(h[0] for h in history) if history else None)
        ends = [when for when, _, state in history if state in TERMINAL_STATES]
        run.ended_at = max(ends) if ends else None

    def _record_run_io(
        self, run: _RunState, dataset: _DatasetState, direction: str, mention: _Mention, ev: _Event
    ) -> None:
        key = (run.run_id, dataset.key, direction)
        io = self.run_io.get(key)
        if io is None:
            io = _RunIo(run.run_id, dataset.key, direction, ev.seq, ev.time, ev.seq, None, {})
            self.run_io[key] = io
            self.run_io_by_run[run.run_id].add((dataset.key, direction))
        io.last_seq = max(io.last_seq, ev.seq)
        io.dataset_version = dataset.version.version if dataset.version else None
        io.facets.update(mention.io_facets)
        io.dirty = True

    # -- write: bulk statements, in foreign-key order ------------------------------------------------
    # Rows that end (valid_to_seq) are written before new rows start, so that the "one current
    # row" constraints hold after every statement. Updates of existing rows are upserts on the
    # primary key: the values of columns that are not updated only have to satisfy NOT NULL.

    def _write(self) -> Touched:
        self._settle_schemas()
        self._write_namespaces()
        self._write_datasets()
        self._write_jobs()
        self._write_runs()
        self._write_dataset_versions()
        self._write_fields()
        self._write_job_versions()
        self._write_run_facts()
        self._write_job_edges()
        self._write_column_edges()
        self._write_symlinks()
        self._write_tags()
        self._write_checkpoint()
        return Touched(
            dataset_ids={self.dataset_ids[d.key] for d in self.datasets.values() if d.touched},
            job_ids={self.job_ids[j.key] for j in self.jobs.values() if j.touched},
            run_ids={self.run_pks[r.run_id] for r in self.runs.values() if r.touched},
        )

    def _write_namespaces(self) -> None:
        needed = {d.key[0] for d in self.datasets.values() if d.id is None}
        needed |= {j.key[0] for j in self.jobs.values() if j.id is None}
        needed -= set(self.namespace_ids)
        rows = [
            {"name": n, "first_seq": self.namespaces[n][0], "created_at": self.namespaces[n][1]} for n in sorted(needed)
        ]
        # The no-op update makes the database return the id of a row that already existed.
        for pk, name in _bulk(Namespace, rows, conflict=["name"], update=["name"], returning=["id", "name"]):
            self.namespace_ids[name] = pk

    def _write_datasets(self) -> None:
        def row(d: _DatasetState, *, with_facets: bool = True) -> dict[str, Any]:
            return {
                "id": d.id,
                "namespace_id": self.namespace_ids[d.key[0]],
                "name": d.key[1],
                "first_seq": d.first_seq,
                "created_at": d.created_at,
                "updated_at": d.updated_at,
                "last_seq": d.last_seq,
                "dataset_type": d.dataset_type,
                "current_version_id": d.version.version if d.version else None,
                "facets": d.facets if with_facets else {},
            }

        new = [d for d in self.datasets.values() if d.id is None]
        rows = [{k: v for k, v in row(d).items() if k != "id"} for d in new]
        for pk, namespace_id, name in _bulk(Dataset, rows, returning=["id", "namespace_id", "name"]):
            key = (self._namespace_names[namespace_id], name)
            self.datasets[key].id = self.dataset_ids[key] = pk
        changed = [d for d in self.datasets.values() if d.touched and d not in new]
        _write_back(Dataset, changed, row, ["updated_at", "last_seq", "dataset_type", "current_version_id"])

    @property
    def _namespace_names(self) -> dict[int, str]:
        return {pk: name for name, pk in self.namespace_ids.items()}

    def _write_jobs(self) -> None:
        def row(j: _JobState, *, with_facets: bool = True) -> dict[str, Any]:
            return {
                "id": j.id,
                "namespace_id": self.namespace_ids[j.key[0]],
                "name": j.key[1],
                "first_seq": j.first_seq,
                "created_at": j.created_at,
                "updated_at": j.updated_at,
                "last_seq": j.last_seq,
                "job_type": j.job_type,
                "current_version_id": j.version.version if j.version else None,
                "facets": j.facets if with_facets else {},
            }

        new = [j for j in self.jobs.values() if j.id is None]
        rows = [{k: v for k, v in row(j).items() if k != "id"} for j in new]
        for pk, namespace_id, name in _bulk(Job, rows, returning=["id", "namespace_id", "name"]):
            key = (self._namespace_names[namespace_id], name)
            self.jobs[key].id = self.job_ids[key] = pk
        changed = [j for j in self.jobs.values() if j.touched and j not in new]
        _write_back(Job, changed, row, ["updated_at", "last_seq", "job_type", "current_version_id"])

    def _write_runs(self) -> None:
        def row(r: _RunState, *, with_facets: bool = True) -> dict[str, Any]:
            return {
                "id": r.id,
                "run_id": r.run_id,
                "job_id": self.job_ids[r.job],
                "state": r.state,
                "state_event_time": r.state_event_time,
                "started_at": r.started_at,
                "ended_at": r.ended_at,
                "is_placeholder": r.is_placeholder,
                "first_seq": r.first_seq,
                "last_seq": r.last_seq,
                "job_version_id": r.job_version,
                "reported_seq": r.reported_seq,
                "created_at": r.created_at,
                "nominal_start_time": r.nominal_start_time,
                "nominal_end_time": r.nominal_end_time,
                "facets": r.facets if with_facets else {},
            }

        new = [r for r in self.runs.values() if r.id is None]
        rows = [{k: v for k, v in row(r).items() if k != "id"} for r in new]
        for pk, run_id in _bulk(Run, rows, returning=["id", "run_id"]):
            self.runs[run_id].id = self.run_pks[run_id] = pk
        changed = [r for r in self.runs.values() if r.touched and r not in new]
        fields = [
            "job_id",
            "state",
            "state_event_time",
            "started_at",
            "ended_at",
            "is_placeholder",
            "last_seq",
            "job_version_id",
            "reported_seq",
            "nominal_start_time",
            "nominal_end_time",
        ]
        _write_back(Run, changed, row, fields)
        # Parents may have been inserted by this very batch: their ids are known only now.
        linked = [r for r in self.runs.values() if r.hierarchy_changed]
        rows = [
            {
                **row(r, with_facets=False),
                "parent_id": self.run_pks[r.parent] if r.parent else None,
                "root_id": self.run_pks[r.root] if r.root else None,
            }
            for r in linked
        ]
        _bulk(Run, rows, conflict=["id"], update=["parent_id", "root_id"])

    def _write_dataset_versions(self) -> None:
        def row(v: _DatasetVersionState) -> dict[str, Any]:
            return {
                "version": v.version,
                "dataset_id": self.dataset_ids[v.dataset],
                "first_seq": v.first_seq,
                "valid_to_seq": v.valid_to_seq,
                "created_at": v.created_at,
                "content_hash": v.content_hash,
                "schema_hash": v.schema_hash,
                "schema_fields": v.schema_fields if v.is_new else [],
                "lifecycle_state": v.lifecycle_state[:16],
                "producer_version": v.producer_version[:1024],
                "facets": v.facets if v.is_new else {},
                "created_by_run_id": self.run_pks[v.created_by_run] if v.created_by_run else None,
            }

        ended = [row(v) for v in self.closed_dataset_versions]
        _bulk(DatasetVersion, ended, conflict=["version"], update=["valid_to_seq"])
        _bulk(DatasetVersion, [row(v) for v in self.new_dataset_versions])

    def _write_fields(self) -> None:
        if self.fields_to_close:
            wanted: dict[int, set[str]] = defaultdict(set)
            for key, name in self.fields_to_close:
                wanted[self.dataset_ids[key]].add(name)
            query = Q()
            for dataset_id, names in wanted.items():
                query |= Q(dataset_id=dataset_id, name__in=sorted(names))
            keys = {pk: key for key, pk in self.dataset_ids.items()}
            open_rows = DatasetField.objects.filter(query, valid_to_seq__isnull=True).values(
                "id", "dataset_id", "name", "type", "ordinal", "first_seq", "created_at"
            )
            ended = [
                {**r, "description": "", "valid_to_seq": self.fields_to_close[(keys[r["dataset_id"]], r["name"])]}
                for r in open_rows
            ]
            _bulk(DatasetField, ended, conflict=["id"], update=["valid_to_seq"])
        rows = [
            {
                "dataset_id": self.dataset_ids[key],
                "name": f.name,
                "type": f.type,
                "description": f.description,
                "ordinal": f.ordinal,
                "first_seq": f.first_seq,
                "valid_to_seq": f.valid_to_seq,
                "created_at": f.created_at,
            }
            for key, f in [*self.closed_new_fields, *((k[0], f) for k, f in self.open_new_fields.items())]
        ]
        _bulk(DatasetField, rows)

    def _write_job_versions(self) -> None:
        def row(v: _JobVersionState) -> dict[str, Any]:
            content = v.content if v.is_new else {}
            location = _dict(content.get("sourceCodeLocation"))
            return {
                "version": v.version,
                "job_id": self.job_ids[v.job],
                "first_seq": v.first_seq,
                "valid_to_seq": v.valid_to_seq,
                "created_at": v.created_at,
                "content_hash": v.content_hash,
                "location": _str(location.get("url"))[:2048],
                "source_code_location": location,
                "source_code": _dict(content.get("sourceCode")),
                "sql": _str(_dict(content.get("sql")).get("query")),
                "inputs": content.get("inputs", []),
                "outputs": content.get("outputs", []),
                "facets": v.facets if v.is_new else {},
            }

        _bulk(JobVersion, [row(v) for v in self.closed_job_versions], conflict=["version"], update=["valid_to_seq"])
        _bulk(JobVersion, [row(v) for v in self.new_job_versions])

    def _write_run_facts(self) -> None:
        rows = [
            {"run_id": self.run_pks[run_id], "state": state[:16], "event_time": when, "seq": seq}
            for run_id, state, when, seq in self.state_changes
        ]
        _bulk(RunStateChange, rows, conflict=["run_id", "state", "event_time", "seq"])
        rows = [
            {
                "run_id": self.run_pks[io.run],
                "dataset_id": self.dataset_ids[io.dataset],
                "direction": io.direction,
                "first_seq": io.first_seq,
                "event_time": io.event_time,
                "dataset_version_id": io.dataset_version,
                "last_seq": io.last_seq,
                "facets": io.facets,
            }
            for io in self.run_io.values()
            if io.dirty
        ]
        _bulk(
            RunDataset,
            rows,
            conflict=["run_id", "dataset_id", "direction"],
            update=["dataset_version_id", "last_seq", "facets"],
        )

    def _write_job_edges(self) -> None:
        def row(e: _JobEdge) -> dict[str, Any]:
            return {
                "job_id": self.job_ids[e.job],
                "dataset_id": self.dataset_ids[e.dataset],
                "direction": e.direction,
                "source": e.source,
                "first_seq": e.first_seq,
                "last_seq": e.last_seq,
                "valid_to_seq": e.valid_to_seq,
                "event_time": e.event_time,
            }

        edges = [e for e in [*self.closed_job_edges, *self.job_edges.values()] if e.dirty]
        existing = [{"id": e.id, **row(e)} for e in edges if e.id is not None]
        _bulk(JobDatasetEdge, existing, conflict=["id"], update=["last_seq", "valid_to_seq"])
        _bulk(JobDatasetEdge, [row(e) for e in edges if e.id is None])

    def _write_column_edges(self) -> None:
        def row(e: _ColumnEdge) -> dict[str, Any]:
            f = e.fact
            return {
                "output_dataset_id": self.dataset_ids[e.output],
                "output_field": f.output_field[:1024],
                "input_dataset_id": self.dataset_ids[f.input],
                "input_field": f.input_field[:1024],
                "dataset_level_input_field": f.dataset_level_input_field[:1024],
                "transformation_type": f.transformation_type,
                "subtype": f.subtype,
                "description": f.description,
                "masking": f.masking,
                "job_id": self.job_ids[e.job] if e.job else None,
                "fact_key": e.fact_key,
                "first_seq": e.first_seq,
                "valid_to_seq": e.valid_to_seq,
                "event_time": e.event_time,
            }

        ended = [{"id": e.id, **row(e)} for e in self.closed_column_edges if e.id is not None]
        _bulk(ColumnLineageEdge, ended, conflict=["id"], update=["valid_to_seq"])
        new = [row(e) for e in [*self.closed_column_edges, *self.column_edges.values()] if e.id is None]
        _bulk(ColumnLineageEdge, new)

    def _write_symlinks(self) -> None:
        def row(s: _Symlink) -> dict[str, Any]:
            return {
                "dataset_id": self.dataset_ids[s.dataset],
                "canonical_id": self.dataset_ids[s.canonical],
                "identifier_type": s.identifier_type,
                "first_seq": s.first_seq,
                "valid_to_seq": s.valid_to_seq,
                "event_time": s.event_time,
            }

        ended = [{"id": s.id, **row(s)} for s in self.closed_symlinks]
        _bulk(DatasetSymlink, ended, conflict=["id"], update=["valid_to_seq"])
        _bulk(DatasetSymlink, [row(s) for s in self.new_symlinks])

    def _write_tags(self) -> None:
        rows = [{"name": name[:512], "first_seq": seq, "created_at": when} for name, (seq, when) in self.tags.items()]
        _bulk(Tag, rows, conflict=["name"])

    def _write_checkpoint(self) -> None:
        """One checkpoint per request folded: the last sequence of each run of entries received
        together (a fold takes in the events of every request that appended meanwhile)."""
        received = [(item.seq, item.received_at) for item in self.items if item.received_at is not None]
        if len(received) < len(self.items):  # replay and tests build items without it
            seqs = [item.seq for item in self.items]
            received = []
            for start in range(0, len(seqs), CHUNK):
                chunk = seqs[start : start + CHUNK]
                received += LedgerEntry.objects.filter(seq__in=chunk).order_by("seq").values_list("seq", "received_at")
        rows = [
            {"seq": seq, "received_at": at}
            for i, (seq, at) in enumerate(received)
            if i + 1 == len(received) or received[i + 1][1] != at
        ]
        _bulk(GraphCheckpoint, rows, conflict=["seq"])


def _write_back(model: type[Model], states: list[Any], row: Any, fields: list[str]) -> None:
    """Update changed rows in at most two statements; ``facets`` only where it changed."""
    for with_facets in (True, False):
        batch = [row(s, with_facets=with_facets) for s in states if s.facets_changed is with_facets]
        _bulk(model, batch, conflict=["id"], update=[*fields, "facets"] if with_facets else fields)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
