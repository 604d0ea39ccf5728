"""Reads for the reports, every one of them as of a ledger sequence.

Until the graph layer (``lineage.graph``) and the catalog selectors offer these questions as
of a sequence, they are asked here against the models directly; each says which facts it relies
on having a sequence (``first_seq``/``seq``/``valid_to_seq``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db.models import Q

from catalog.models import (
    AISystem,
    GovernanceAssertion,
    ModelCard,
    QualityResult,
    RunEnergy,
    SystemDeclaration,
    SystemMember,
)
from lineage.canonical import GENESIS_HASH
from lineage.folding import run_current_state
from lineage.models import Dataset, Job, JobDatasetEdge, LedgerEntry, Run, RunStateChange, valid_at
from reports.models import Report, ReportKind


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, the same on every database backend."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Systems -----------------------------------------------------------------------------------


def system_get(*, slug: str) -> AISystem | None:
    return AISystem.objects.filter(slug=slug).first()


def system_list() -> list[AISystem]:
    return list(AISystem.objects.order_by("slug"))


# --- Ledger --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerAnchor:
    seq: int
    chain_hash: str
    ledger_time: datetime | None


def ledger_anchor_get(*, as_of_seq: int | None) -> LedgerAnchor:
    """The ledger entry a report is anchored to: the head, or the last entry at or before a sequence."""
    qs = LedgerEntry.objects.order_by("-seq")
    if as_of_seq is not None:
        qs = qs.filter(seq__lte=as_of_seq)
    row = qs.values("seq", "chain_hash", "received_at").first()
    if row is None:
        return LedgerAnchor(seq=0, chain_hash=GENESIS_HASH, ledger_time=None)
    return LedgerAnchor(seq=row["seq"], chain_hash=row["chain_hash"], ledger_time=row["received_at"])


def ledger_seq_at(*, when: datetime) -> int:
    """The last ledger sequence Tracemark had recorded at ``when`` (0 before the first entry)."""
    row = LedgerEntry.objects.filter(received_at__lte=when).order_by("-seq").values("seq").first()
    return int(row["seq"]) if row else 0


def ledger_hashes(*, seqs: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(LedgerEntry.objects.filter(seq__in=chunk).values_list("seq", "payload_hash"))
    return found


def ledger_payloads(*, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Parsed payloads of ledger entries (the events exactly as accepted)."""
    wanted = sorted(set(seqs))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for seq, payload in LedgerEntry.objects.filter(seq__in=chunk).values_list("seq", "payload"):
            found[seq] = orjson.loads(payload)
    return found


# --- Catalog, as of a sequence -------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    role: str
    node_id: str
    kind: str  # dataset | job
    pk: int
    first_seq: int
    source: str
    actor: str


def members_as_of(*, system: AISystem, seq: int) -> list[Member]:
    rows = (
        SystemMember.objects.as_of(seq)
        .filter(system=system)
        .select_related("dataset__namespace", "job__namespace")
        .order_by("role", "id")
    )
    members: list[Member] = []
    for m in rows:
        node = m.dataset if m.dataset_id else m.job
        assert node is not None
        members.append(
            Member(
                role=m.role,
                node_id=node.node_id,
                kind="dataset" if m.dataset_id else "job",
                pk=node.pk,
                first_seq=m.first_seq,
                source=m.source,
                actor=m.actor,
            )
        )
    members.sort(key=lambda m: (m.role, m.node_id))
    return members


@dataclass(frozen=True)
class Declaration:
    field: str
    value: str
    version: int
    author: str
    seq: int
    reason: str


def declarations_as_of(*, system: AISystem, seq: int) -> dict[str, Declaration]:
    """The latest version of each declared field recorded at or before ``seq``."""
    latest: dict[str, Declaration] = {}
    for d in SystemDeclaration.objects.filter(system=system, seq__lte=seq).order_by("field", "version"):
        latest[d.field] = Declaration(d.field, d.value, d.version, d.author, d.seq, d.reason)
    return latest


@dataclass(frozen=True)
class Assertion:
    dataset_id: int
    field: str
    attribute: str
    value: str
    present: bool
    source: str
    precedence: int
    actor: str
    first_seq: int
    evidence: dict[str, Any]


def assertions_as_of(*, dataset_ids: Iterable[int], seq: int) -> dict[int, list[Assertion]]:
    """Governance values per dataset (dataset-level and per column) holding at ``seq``."""
    ids = sorted(set(dataset_ids))
    out: dict[int, list[Assertion]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = (
            GovernanceAssertion.objects.as_of(seq)
            .filter(dataset_id__in=ids[start : start + 500])
            .values_list(
                "dataset_id",
                "field",
                "attribute",
                "value",
                "present",
                "source",
                "precedence",
                "actor",
                "first_seq",
                "evidence",
            )
        )
        for r in rows:
            out[r[0]].append(Assertion(*r))
    for items in out.values():
        items.sort(key=lambda a: (a.field, a.attribute, -a.precedence, a.value, a.source, a.first_seq))
    return out


def energy_as_of(*, run_ids: Iterable[int], seq: int) -> list[RunEnergy]:
    ids = sorted(set(run_ids))
    rows: list[RunEnergy] = []
    for start in range(0, len(ids), 500):
        rows += list(RunEnergy.objects.filter(run_id__in=ids[start : start + 500], seq__lte=seq))
    rows.sort(key=lambda r: r.seq)
    return rows


def model_cards_as_of(*, dataset_ids: Iterable[int], seq: int) -> list[ModelCard]:
    return list(
        ModelCard.objects.filter(dataset_id__in=sorted(set(dataset_ids)), seq__lte=seq).order_by("dataset_id", "seq")
    )


def quality_as_of(*, dataset_ids: Iterable[int], seq: int) -> list[QualityResult]:
    return list(
        QualityResult.objects.filter(dataset_id__in=sorted(set(dataset_ids)), seq__lte=seq).order_by(
            "dataset_id", "seq"
        )
    )


# --- Runs, as of a sequence ------------------------------------------------------------------------


@dataclass
class RunView:
    pk: int
    run_id: uuid.UUID
    job_id: int
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    seqs: list[int] = field(default_factory=list)


@dataclass
class JobRuns:
    job_id: int
    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    first_started: datetime | None = None
    last_started: datetime | None = None
    latest: RunView | None = None
    latest_complete: RunView | None = None
    latest_failed: RunView | None = None


def runs_as_of(*, job_ids: Iterable[int], seq: int) -> dict[int, JobRuns]:
    """Per job: how many runs and in which state as of ``seq``, and the latest ones in full.

    States are folded from the state history recorded up to ``seq`` with the intake's own rule
    (event time decides; a terminal state is never reopened), so a later event cannot change
    what the report says about the past.
    """
    ids = sorted(set(job_ids))
    history: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
    run_job: dict[int, tuple[int, uuid.UUID]] = {}
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        for run_pk, job_id, run_uuid in Run.objects.filter(job_id__in=chunk, first_seq__lte=seq).values_list(
            "id", "job_id", "run_id"
        ):
            run_job[run_pk] = (job_id, run_uuid)
        for run_pk, state, when, change_seq in RunStateChange.objects.filter(
            run__job_id__in=chunk, seq__lte=seq
        ).values_list("run_id", "state", "event_time", "seq"):
            history[run_pk].append((when, change_seq, state))
    out: dict[int, JobRuns] = {j: JobRuns(job_id=j) for j in ids}
    for run_pk, changes in history.items():
        if run_pk not in run_job:
            continue
        job_id, run_uuid = run_job[run_pk]
        state, _ = run_current_state(changes)
        starts = [w for w, _, s in changes if s in ("START", "RUNNING")]
        ends = [w for w, _, s in changes if s in ("COMPLETE", "FAIL", "ABORT")]
        view = RunView(
            pk=run_pk,
            run_id=run_uuid,
            job_id=job_id,
            state=state,
            started_at=min(starts) if starts else min(w for w, _, _ in changes),
            ended_at=max(ends) if ends else None,
            seqs=sorted({s for _, s, _ in changes}),
        )
        agg = out[job_id]
        agg.total += 1
        agg.by_state[state] = agg.by_state.get(state, 0) + 1
        key = (view.started_at, view.seqs[-1])
        if agg.first_started is None or (view.started_at and view.started_at < agg.first_started):
            agg.first_started = view.started_at
        if agg.last_started is None or (view.started_at and view.started_at > agg.last_started):
            agg.last_started = view.started_at
        for attr, wanted in (("latest", None), ("latest_complete", "COMPLETE"), ("latest_failed", "FAIL")):
            if wanted is not None and state != wanted:
                continue
            current: RunView | None = getattr(agg, attr)
            if current is None or key > (current.started_at, current.seqs[-1]):
                setattr(agg, attr, view)
    return out


# --- Lineage, as of a sequence ----------------------------------------------------------------------


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    first_seq: int


@dataclass
class Subgraph:
    datasets: dict[int, Dataset]
    jobs: dict[int, Job]
    edges: list[GraphEdge]
    truncated: bool


def lineage_around(
    *, dataset_ids: Sequence[int], job_ids: Sequence[int], seq: int, max_nodes: int = 2000, max_depth: int = 100
) -> Subgraph:
    """Job-level lineage upstream of the seeds (and the seed jobs' own outputs), as known at ``seq``.

    Walks dataset → writing job → its inputs breadth-first over ``JobDatasetEdge`` (edges true
    at ``seq``), one query per step for the whole frontier, so the cost follows the answer, not
    the number of runs. Stops at ``max_nodes`` and says so (``truncated``).
    """
    ds_seen: set[int] = set(dataset_ids)
    job_seen: set[int] = set(job_ids)
    edges: dict[tuple[str, int, int], int] = {}  # (direction, job, dataset) -> first seq
    truncated = False

    def keep(rows: list[tuple[int, int, str, int]]) -> None:
        for job_id, ds_id, direction, first in rows:
            key = (direction, job_id, ds_id)
            edges[key] = min(first, edges.get(key, first))

    # The seed jobs' outputs belong to the picture (a serving job's endpoint, a model's metrics).
    seed_out = _edges(job_ids=sorted(job_ids), direction="out", seq=seq)
    keep(seed_out)
    ds_seen |= {ds for _, ds, _, _ in seed_out}
    ds_frontier, job_frontier = set(dataset_ids), set(job_ids)
    for _depth in range(max_depth):
        if not ds_frontier and not job_frontier:
            break
        writers = _edges(dataset_ids=sorted(ds_frontier), direction="out", seq=seq)
        keep(writers)
        new_jobs = {job for job, _, _, _ in writers} - job_seen
        job_frontier |= new_jobs
        job_seen |= new_jobs
        reads = _edges(job_ids=sorted(job_frontier), direction="in", seq=seq)
        keep(reads)
        new_ds = {ds for _, ds, _, _ in reads} - ds_seen
        ds_seen |= new_ds
        ds_frontier, job_frontier = new_ds, set()
        if len(ds_seen) + len(job_seen) > max_nodes:
            truncated = bool(ds_frontier)
            break
    datasets = {d.pk: d for d in Dataset.objects.filter(pk__in=sorted(ds_seen)).select_related("namespace")}
    jobs = {j.pk: j for j in Job.objects.filter(pk__in=sorted(job_seen)).select_related("namespace")}
    graph_edges = []
    for (direction, job_id, ds_id), first in edges.items():
        if job_id not in jobs or ds_id not in datasets:
            continue
        job_node, ds_node = jobs[job_id].node_id, datasets[ds_id].node_id
        src, dst = (ds_node, job_node) if direction == "in" else (job_node, ds_node)
        graph_edges.append(GraphEdge(source=src, target=dst, first_seq=first))
    graph_edges.sort(key=lambda e: (e.source, e.target))
    return Subgraph(datasets=datasets, jobs=jobs, edges=graph_edges, truncated=truncated)


def _edges(
    *, direction: str, seq: int, dataset_ids: Sequence[int] = (), job_ids: Sequence[int] = ()
) -> list[tuple[int, int, str, int]]:
    """(job, dataset, direction, first seq) of the job-dataset edges true at ``seq`` touching the nodes."""
    out: list[tuple[int, int, str, int]] = []
    keys, column = (dataset_ids, "dataset_id__in") if dataset_ids else (job_ids, "job_id__in")
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        out.extend(
            JobDatasetEdge.objects.filter(valid_at(seq), Q(**{column: chunk}), direction=direction).values_list(
                "job_id", "dataset_id", "direction", "first_seq"
            )
        )
    return out


# --- Reports -------------------------------------------------------------------------------------------


def report_list(*, system: AISystem | None = None) -> list[Report]:
    qs = Report.objects.select_related("system").defer("pdf", "evidence").order_by("-as_of_seq", "kind")
    if system is not None:
        qs = qs.filter(system=system)
    return list(qs)


def report_get(*, report_id: str) -> Report | None:
    return Report.objects.select_related("system").filter(report_id=report_id).first()


def report_kinds() -> list[tuple[str, str]]:
    return list(ReportKind.choices)
