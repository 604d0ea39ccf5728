"""Ledger, producer keys and the stored provenance graph.

Graph facts carry ``first_seq`` — the ledger sequence at which Tracemark learned them — so that
queries can be answered as of any past ledger position.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

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


class Namespace(models.Model):
    name = models.CharField(max_length=1024, unique=True)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField(help_text="Event time at which it was first seen.")

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=1024)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_seq = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_natural_key")]

    def __str__(self) -> str:
        return f"{self.namespace.name}:{self.name}"

    @property
    def node_id(self) -> str:
        return f"dataset:{self.namespace.name}:{self.name}"


class Job(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, related_name="jobs")
    name = models.CharField(max_length=1024)
    first_seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_seq = models.BigIntegerField()

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
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="runs")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.NEW)
    state_event_time = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    is_placeholder = models.BooleanField(
        default=False, help_text="Known only as another run's parent; its own events have not arrived."
    )
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()

    class Meta:
        indexes = [
            # Job pages and /jobs/{name}/runs list a job's runs newest first.
            models.Index(fields=["job", "-started_at"], name="run_job_started_idx"),
        ]

    def __str__(self) -> str:
        return str(self.run_id)


class RunStateChange(models.Model):
    """Every state a run reported, with its event time and the ledger entry that carried it."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="state_changes")
    state = models.CharField(max_length=16, choices=RunState.choices)
    event_time = models.DateTimeField()
    seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "state", "event_time", "seq"], name="runstate_unique")
        ]
        indexes = [
            # Recomputing a run's current state reads its changes in event-time order.
            models.Index(fields=["run", "event_time"], name="runstate_run_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.state} @ {self.event_time}"


class RunDataset(models.Model):
    """An input or output edge of a run, recorded the first time an event named it."""

    class Direction(models.TextChoices):
        INPUT = "in", "input"
        OUTPUT = "out", "output"

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="io")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="run_io")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    first_seq = models.BigIntegerField()
    event_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "dataset", "direction"], name="rundataset_unique")
        ]
        indexes = [
            # Lineage walks go from a dataset to the runs that read or wrote it.
            models.Index(fields=["dataset", "direction"], name="rundataset_dataset_dir_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.direction} {self.dataset_id}"


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
