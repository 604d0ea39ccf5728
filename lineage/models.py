"""Ledger, producer keys and the stored provenance graph.

Every graph fact carries ``first_seq`` — the ledger sequence at which Tracemark learned it — and,
where a fact can stop being true (a dataset version, a schema field, a column-lineage edge, a
declared job input), ``valid_to_seq``: the sequence at which it stopped (null: still true). A
fact is true as of sequence K when ``first_seq <= K`` and ``valid_to_seq`` is null or ``> K``, so
any query can be answered as of a past ledger position. The fold (``lineage.folding``) is the
only writer.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from lineage.querysets import ApiKeyQuerySet


class ApiKey(models.Model):
    """A producer's credential for the intake. Only the SHA-256 of the key is stored."""

    name = models.CharField(max_length=200, unique=True)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    namespaces = models.JSONField(
        default=list,
        blank=True,
        help_text="Namespace patterns (fnmatch) this key may write to; empty means any.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "producer API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LedgerHead(models.Model):
    """The single row holding the ledger's last sequence and chain hash; locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="ledgerhead_singleton")]

    def __str__(self) -> str:
        return f"ledger head #{self.seq}"


class LedgerEntry(models.Model):
    """One append-only ledger entry: an accepted OpenLineage event or a governance decision.

    ``chain_hash = sha256(prev_hash | seq | kind | received_at | producer | payload_hash)``.
    UPDATE and DELETE are refused by database triggers (see the migration).
    """

    class Kind(models.TextChoices):
        EVENT = "event", "OpenLineage event"
        GOVERNANCE = "governance", "Governance decision"

    seq = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    received_at = models.DateTimeField()
    producer = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payload = models.TextField(help_text="Canonical JSON of the event or decision, as accepted.")
    payload_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    # Denormalised from the payload for listing and as-of queries.
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            # A re-sent event is recognised by its canonical hash and never stored twice.
            models.UniqueConstraint(
                fields=["payload_hash"], condition=Q(kind="event"), name="ledger_event_unique_payload"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="ledger_seq_positive"),
        ]
        indexes = [
            # /api/v1/events/lineage lists events by event time.
            models.Index(fields=["event_time"], name="ledger_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.payload_hash[:12]}"


# The graph's foreign keys say ``db_index=False`` where the key leads a unique constraint or an
# index of its model already (``dataset_natural_key`` starts with ``namespace``, and so on): that
# index serves lookups by the key and the checks of its references, and a second one on the key
# alone only cost every insert of the fold (the run's datasets, its state changes, job edges).
# Not on a key that a partial unique constraint covers alone (``datasetversion_one_current``):
# Django would drop that constraint's index with the key's own and not create it again.


class Namespace(models.Model):
    name = models.CharField(max_length=1024, unique=True)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField(help_text="Event time at which it was first seen.")

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, db_index=False, related_name="datasets")
    name = models.CharField(max_length=1024)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_seq = models.BigIntegerField()
    dataset_type = models.CharField(
        max_length=64, blank=True, help_text="From the datasetType facet: TABLE, VIEW, FILE, MODEL…"
    )
    current_version = models.ForeignKey(
        "DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    facets = models.JSONField(default=dict, blank=True, help_text="Latest value of each dataset facet.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_natural_key")]

    def __str__(self) -> str:
        return f"{self.namespace.name}:{self.name}"

    @property
    def node_id(self) -> str:
        return f"dataset:{self.namespace.name}:{self.name}"


class Job(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, db_index=False, related_name="jobs")
    name = models.CharField(max_length=1024)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_seq = models.BigIntegerField()
    job_type = models.CharField(
        max_length=32, blank=True, help_text="processingType of the jobType facet: BATCH, STREAMING…"
    )
    current_version = models.ForeignKey("JobVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    facets = models.JSONField(default=dict, blank=True, help_text="Latest value of each job facet.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="job_natural_key")]

    def __str__(self) -> str:
        return f"{self.namespace.name}:{self.name}"

    @property
    def node_id(self) -> str:
        return f"job:{self.namespace.name}:{self.name}"


class RunState(models.TextChoices):
    NEW = "NEW", "New"
    START = "START", "Started"
    RUNNING = "RUNNING", "Running"
    COMPLETE = "COMPLETE", "Completed"
    FAIL = "FAIL", "Failed"
    ABORT = "ABORT", "Aborted"
    OTHER = "OTHER", "Other"


TERMINAL_STATES = frozenset({RunState.COMPLETE, RunState.FAIL, RunState.ABORT})


class Run(models.Model):
    """A run of a job. ``state`` follows event time; COMPLETE, FAIL and ABORT are terminal."""

    run_id = models.UUIDField(unique=True, default=uuid.uuid4)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, db_index=False, related_name="runs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.NEW)
    state_event_time = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    is_placeholder = models.BooleanField(
        default=False, help_text="Known only as another run's parent; its own events have not arrived."
    )
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="descendants",
        help_text="The root of the run hierarchy (ParentRunFacet root); empty for a run without parent.",
    )
    job_version = models.ForeignKey("JobVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    reported_seq = models.BigIntegerField(
        null=True, blank=True, help_text="Ledger sequence of the run's own first event."
    )
    created_at = models.DateTimeField(null=True, blank=True, help_text="Event time it was first seen.")
    nominal_start_time = models.DateTimeField(null=True, blank=True)
    nominal_end_time = models.DateTimeField(null=True, blank=True)
    facets = models.JSONField(default=dict, blank=True, help_text="Latest value of each run facet.")

    class Meta:
        indexes = [
            # Job pages and /jobs/{name}/runs list a job's runs newest first.
            models.Index(fields=["job", "-started_at"], name="run_job_started_idx"),
        ]

    def __str__(self) -> str:
        return str(self.run_id)


class RunStateChange(models.Model):
    """Every state a run reported, with its event time and the ledger entry that carried it."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, db_index=False, related_name="state_changes")
    state = models.CharField(max_length=16, choices=RunState.choices)
    event_time = models.DateTimeField()
    seq = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "state", "event_time", "seq"], name="runstate_unique")]
        indexes = [
            # Recomputing a run's current state reads its changes in event-time order.
            models.Index(fields=["run", "event_time"], name="runstate_run_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.state} @ {self.event_time}"


class RunDataset(models.Model):
    """An input or output edge of a run, recorded the first time an event named it.

    The dataset is the canonical one (symlinks resolved) as known when the edge was recorded.
    """

    class Direction(models.TextChoices):
        INPUT = "in", "input"
        OUTPUT = "out", "output"

    run = models.ForeignKey(Run, on_delete=models.PROTECT, db_index=False, related_name="io")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, db_index=False, related_name="run_io")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    first_seq = models.BigIntegerField()
    event_time = models.DateTimeField()
    dataset_version = models.ForeignKey(
        "DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="run_io",
        help_text="The dataset version read or written, as of the run's latest event naming it.",
    )
    last_seq = models.BigIntegerField(null=True, blank=True)
    facets = models.JSONField(default=dict, blank=True, help_text="inputFacets / outputFacets, latest value each.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "dataset", "direction"], name="rundataset_unique")]
        indexes = [
            # Lineage walks go from a dataset to the runs that read or wrote it.
            models.Index(fields=["dataset", "direction"], name="rundataset_dataset_dir_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.direction} {self.dataset_id}"


def valid_at(seq: int, prefix: str = "") -> Q:
    """Facts true as of ledger sequence ``seq``: learned by then and not yet ended."""
    return Q(**{f"{prefix}first_seq__lte": seq}) & (
        Q(**{f"{prefix}valid_to_seq__isnull": True}) | Q(**{f"{prefix}valid_to_seq__gt": seq})
    )


class DatasetVersion(models.Model):
    """A dataset's content-describing facts (schema, lifecycle state, producer version) over a span.

    A new version starts only when one of those facts changes, not on every run. The ``version``
    UUID is derived from the dataset, the content hash and ``first_seq``, so a replay of the
    ledger yields the same identifiers.
    """

    version = models.UUIDField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(help_text="Event time of the event that started this version.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 over schema hash, lifecycle, version.")
    schema_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON of schema_fields.")
    schema_fields = models.JSONField(default=list, blank=True, help_text="Fields of the schema facet.")
    lifecycle_state = models.CharField(max_length=16, blank=True)
    producer_version = models.CharField(
        max_length=1024, blank=True, help_text="datasetVersion of the producer's version facet."
    )
    facets = models.JSONField(default=dict, blank=True, help_text="Dataset facets as of this version.")
    created_by_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.PROTECT, related_name="created_dataset_versions"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "first_seq"], name="datasetversion_natural_key"),
            models.UniqueConstraint(
                fields=["dataset"], condition=Q(valid_to_seq__isnull=True), name="datasetversion_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} v{self.version}"

    @property
    def is_deleted(self) -> bool:
        return self.lifecycle_state == "DROP"


class DatasetField(models.Model):
    """A schema field of a dataset (nested fields as dotted names) while it is part of the schema."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, db_index=False, related_name="fields")
    name = models.CharField(max_length=1024)
    type = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    ordinal = models.PositiveIntegerField(help_text="Position in the flattened schema, from 1.")
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name", "first_seq"], name="datasetfield_natural_key"),
            models.UniqueConstraint(
                fields=["dataset", "name"], condition=Q(valid_to_seq__isnull=True), name="datasetfield_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}.{self.name}"


class JobVersion(models.Model):
    """A job's code (source location, source code, SQL) and input/output set over a span."""

    version = models.UUIDField(primary_key=True)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="versions")
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(help_text="Event time of the event that started this version.")
    content_hash = models.CharField(max_length=64)
    location = models.CharField(max_length=2048, blank=True, help_text="URL of the sourceCodeLocation facet.")
    source_code_location = models.JSONField(default=dict, blank=True)
    source_code = models.JSONField(default=dict, blank=True)
    sql = models.TextField(blank=True)
    inputs = models.JSONField(default=list, blank=True, help_text="[namespace, name] of each input.")
    outputs = models.JSONField(default=list, blank=True, help_text="[namespace, name] of each output.")
    facets = models.JSONField(default=dict, blank=True, help_text="Job facets as of this version.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "first_seq"], name="jobversion_natural_key"),
            models.UniqueConstraint(
                fields=["job"], condition=Q(valid_to_seq__isnull=True), name="jobversion_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} v{self.version}"


class EdgeDirection(models.TextChoices):
    INPUT = "in", "input"
    OUTPUT = "out", "output"


class JobDatasetEdge(models.Model):
    """Job reads or writes dataset, aggregated over every job version and run (or declared statically).

    Lineage walks use this table alone, so their cost follows the size of the answer, not the
    number of runs. Run-sourced edges stay true once seen (history is never forgotten); static
    edges (JobEvent) end when a later JobEvent no longer declares them; both end when their
    dataset becomes an alias of another (symlink or rename) and continue on the canonical one.
    """

    class Source(models.TextChoices):
        RUN = "run", "run"
        STATIC = "static", "static (JobEvent)"

    job = models.ForeignKey(Job, on_delete=models.PROTECT, db_index=False, related_name="dataset_edges")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, db_index=False, related_name="job_edges")
    direction = models.CharField(max_length=3, choices=EdgeDirection.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    event_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "dataset", "direction", "source", "first_seq"], name="jobdatasetedge_natural_key"
            ),
            models.UniqueConstraint(
                fields=["job", "dataset", "direction", "source"],
                condition=Q(valid_to_seq__isnull=True),
                name="jobdatasetedge_one_current",
            ),
        ]
        indexes = [
            # Lineage walks step from datasets to the jobs that wrote (upstream) or read them.
            models.Index(fields=["dataset", "direction", "job"], name="jobdatasetedge_dataset_idx"),
            # ...and from those jobs to their other inputs (upstream) or outputs (downstream).
            models.Index(fields=["job", "direction", "dataset"], name="jobdatasetedge_job_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} {self.direction} dataset {self.dataset_id}"


class ColumnLineageEdge(models.Model):
    """Output column depends on input column (ColumnLineageDatasetFacet), one row per transformation.

    Rows from the facet's top-level ``dataset`` array (inputs that affect the whole output
    dataset, e.g. a FILTER or JOIN key) have ``output_field == ""`` and ``input_field == ""``;
    the input column they name is kept in ``dataset_level_input_field``. The facet reported by a
    job for an output dataset replaces that job's earlier edges into the dataset: edges no longer
    reported end (``valid_to_seq``). The deprecated ``transformationType`` form maps to DIRECT
    (``MASKED`` sets ``masking``).
    """

    class TransformationType(models.TextChoices):
        DIRECT = "DIRECT", "direct"
        INDIRECT = "INDIRECT", "indirect"

    class Subtype(models.TextChoices):
        NONE = "", "—"
        IDENTITY = "IDENTITY", "identity"
        TRANSFORMATION = "TRANSFORMATION", "transformation"
        AGGREGATION = "AGGREGATION", "aggregation"
        JOIN = "JOIN", "join"
        GROUP_BY = "GROUP_BY", "group by"
        FILTER = "FILTER", "filter"
        SORT = "SORT", "sort"
        WINDOW = "WINDOW", "window"
        CONDITIONAL = "CONDITIONAL", "conditional"

    output_dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, db_index=False, related_name="column_lineage_in"
    )
    output_field = models.CharField(max_length=1024)
    input_dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, db_index=False, related_name="column_lineage_out"
    )
    input_field = models.CharField(max_length=1024, blank=True)
    dataset_level_input_field = models.CharField(
        max_length=1024, blank=True, help_text="For a dataset-level row: the input column the producer named."
    )
    transformation_type = models.CharField(max_length=16, choices=TransformationType.choices)
    subtype = models.CharField(max_length=16, choices=Subtype.choices, blank=True)
    description = models.TextField(blank=True)
    masking = models.BooleanField(default=False)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="column_lineage_edges")
    fact_key = models.CharField(max_length=64, help_text="SHA-256 of every field above: the edge's identity.")
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    event_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fact_key", "first_seq"], name="columnlineage_natural_key"),
            models.UniqueConstraint(
                fields=["fact_key"], condition=Q(valid_to_seq__isnull=True), name="columnlineage_one_current"
            ),
            models.CheckConstraint(
                condition=Q(transformation_type__in=["DIRECT", "INDIRECT"]), name="columnlineage_type_valid"
            ),
        ]
        indexes = [
            # Upstream column walks: which inputs feed these output columns.
            models.Index(fields=["output_dataset", "output_field"], name="columnlineage_output_idx"),
            # Downstream column walks and classification propagation: where these columns flow.
            models.Index(fields=["input_dataset", "input_field"], name="columnlineage_input_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.input_dataset_id}.{self.input_field} -> {self.output_dataset_id}.{self.output_field}"


class DatasetSymlink(models.Model):
    """``dataset`` is another name of ``canonical`` (symlinks facet, or a RENAME lifecycle change)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="symlinks")
    canonical = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="aliases")
    identifier_type = models.CharField(max_length=64, blank=True, help_text="Symlink type, or RENAME.")
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    event_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "first_seq"], name="datasetsymlink_natural_key"),
            models.UniqueConstraint(
                fields=["dataset"], condition=Q(valid_to_seq__isnull=True), name="datasetsymlink_one_current"
            ),
            models.CheckConstraint(condition=~Q(dataset=F("canonical")), name="datasetsymlink_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} -> {self.canonical_id}"


class Tag(models.Model):
    """A tag name seen in a tags facet (``key``, or ``key:value`` unless the value is empty/true)."""

    name = models.CharField(max_length=512, unique=True)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class GraphHead(models.Model):
    """How far the graph has folded the ledger: the last sequence folded, on a single row.

    Every fold locks it (``lineage.services.graph_catch_up``), so the ledger is folded in sequence
    order, once, whichever process gets there first; appends lock ``LedgerHead`` instead, so they
    never wait for a fold.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="graphhead_singleton")]

    def __str__(self) -> str:
        return f"graph folded to #{self.seq}"


class FoldFailure(models.Model):
    """A ledger event the graph could not fold: a defect to fix, not a reason to stop folding.

    The event stays in the ledger, unchanged, and the error is logged; the graph skips the event
    and goes on with the next one, so one bad event never stops the intake. Staff see these rows
    in the admin; a replay of the ledger into an empty database (``graph_replay``) after the fix
    folds the event.
    """

    seq = models.BigIntegerField(primary_key=True)
    error = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"#{self.seq} not folded"


class GraphCheckpoint(models.Model):
    """The last ledger sequence folded by one fold transaction, and when it was received.

    Translates an ``as_of`` timestamp into a ledger sequence with one indexed lookup.
    """

    seq = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            # as_of(timestamp) -> last sequence received at or before it.
            models.Index(fields=["received_at", "seq"], name="graphcheckpoint_received_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} @ {self.received_at}"


class OutboxMessage(models.Model):
    """Work to hand to Celery, written in the same transaction as the facts it is about.

    A broker outage loses nothing: rows wait here until the dispatcher manages to enqueue them.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The dispatcher polls the oldest undispatched rows.
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="outbox_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
