"""Fold accepted events into the stored provenance graph, a batch at a time.

Everything here runs inside the intake transaction, after the ledger append, and uses a fixed
number of queries per batch (upserts on natural keys), not per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import F
from django.db.models.functions import Greatest

from lineage.models import (
    TERMINAL_STATES,
    Dataset,
    Job,
    Namespace,
    Run,
    RunDataset,
    RunState,
    RunStateChange,
)


@dataclass(frozen=True)
class FoldItem:
    seq: int
    kind: str  # RunEvent | DatasetEvent | JobEvent
    event: dict[str, Any]
    event_time: datetime


@dataclass
class Touched:
    """What a batch touched, for follow-up work (policy checks)."""

    dataset_ids: set[int] = field(default_factory=set)
    job_ids: set[int] = field(default_factory=set)
    run_ids: set[int] = field(default_factory=set)


def _dataset_keys(items: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in items if isinstance(d, dict)]


def _parent_refs(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(runId, job namespace, job name) of the parent and the root parent, if given."""
    parent = (run.get("facets") or {}).get("parent")
    if not isinstance(parent, dict):
        return []
    refs = []
    for ref in (parent, parent.get("root")):
        if isinstance(ref, dict) and isinstance(ref.get("run"), dict) and isinstance(ref.get("job"), dict):
            refs.append((ref["run"]["runId"], ref["job"]["namespace"], ref["job"]["name"]))
    return refs


def graph_fold(items: Sequence[FoldItem]) -> Touched:
    touched = Touched()
    if not items:
        return touched
    first_seen: dict[str, tuple[int, datetime]] = {}
    datasets: dict[tuple[str, str], tuple[int, datetime]] = {}
    jobs: dict[tuple[str, str], tuple[int, datetime]] = {}

    def see(store: dict, key: Any, seq: int, when: datetime) -> None:
        if key not in store:
            store[key] = (seq, when)

    for item in items:
        ev = item.event
        for ds in _dataset_keys(ev.get("inputs") or []) + _dataset_keys(ev.get("outputs") or []):
            see(datasets, ds, item.seq, item.event_time)
        if item.kind == "DatasetEvent":
            see(datasets, (ev["dataset"]["namespace"], ev["dataset"]["name"]), item.seq, item.event_time)
        if item.kind in ("RunEvent", "JobEvent"):
            see(jobs, (ev["job"]["namespace"], ev["job"]["name"]), item.seq, item.event_time)
        if item.kind == "RunEvent":
            for _run_id, ns, name in _parent_refs(ev["run"]):
                see(jobs, (ns, name), item.seq, item.event_time)
    for (ns, _name), (seq, when) in list(datasets.items()) + list(jobs.items()):
        see(first_seen, ns, seq, when)

    ns_ids = _upsert_namespaces(first_seen)
    dataset_ids = _upsert_named(Dataset, datasets, ns_ids)
    job_ids = _upsert_named(Job, jobs, ns_ids)
    touched.dataset_ids.update(dataset_ids.values())
    touched.job_ids.update(job_ids.values())

    run_items = [i for i in items if i.kind == "RunEvent"]
    if run_items:
        touched.run_ids.update(_fold_runs(run_items, job_ids, dataset_ids))
    return touched


def _upsert_namespaces(first_seen: dict[str, tuple[int, datetime]]) -> dict[str, int]:
    Namespace.objects.bulk_create(
        [Namespace(name=name, first_seq=seq, created_at=when) for name, (seq, when) in first_seen.items()],
        ignore_conflicts=True,
    )
    return dict(Namespace.objects.filter(name__in=list(first_seen)).values_list("name", "id"))


def _upsert_named(
    model: type[Dataset] | type[Job],
    seen: dict[tuple[str, str], tuple[int, datetime]],
    ns_ids: dict[str, int],
) -> dict[tuple[str, str], int]:
    if not seen:
        return {}
    model.objects.bulk_create(
        [
            model(
                namespace_id=ns_ids[ns],
                name=name,
                first_seq=seq,
                last_seq=seq,
                created_at=when,
                updated_at=when,
            )
            for (ns, name), (seq, when) in seen.items()
        ],
        ignore_conflicts=True,
    )
    id_to_ns = {v: k for k, v in ns_ids.items()}
    wanted = set(seen)
    ids: dict[tuple[str, str], int] = {}
    rows = model.objects.filter(
        namespace_id__in=list(ns_ids.values()), name__in=list({name for _, name in seen})
    ).values_list("id", "namespace_id", "name")
    for pk, ns_id, name in rows:
        key = (id_to_ns[ns_id], name)
        if key in wanted:
            ids[key] = pk
    max_seq = max(seq for seq, _ in seen.values())
    latest = max(when for _, when in seen.values())
    model.objects.filter(id__in=list(ids.values())).update(
        last_seq=max_seq, updated_at=Greatest(F("updated_at"), latest)
    )
    return ids


def _fold_runs(
    run_items: Sequence[FoldItem],
    job_ids: dict[tuple[str, str], int],
    dataset_ids: dict[tuple[str, str], int],
) -> set[int]:
    # Runs named by an event, and the parents they point at (placeholders until they report).
    own: dict[uuid.UUID, FoldItem] = {}
    parents: dict[uuid.UUID, tuple[tuple[str, str], int]] = {}
    parent_of: dict[uuid.UUID, uuid.UUID] = {}
    for item in run_items:
        run = item.event["run"]
        rid = uuid.UUID(run["runId"])
        own.setdefault(rid, item)
        refs = _parent_refs(run)
        for ref_run_id, ns, name in refs:
            pid = uuid.UUID(ref_run_id)
            if pid != rid:
                parents.setdefault(pid, ((ns, name), item.seq))
        if refs and uuid.UUID(refs[0][0]) != rid:
            parent_of[rid] = uuid.UUID(refs[0][0])

    new_runs = [
        Run(
            run_id=rid,
            job_id=job_ids[(item.event["job"]["namespace"], item.event["job"]["name"])],
            first_seq=item.seq,
            last_seq=item.seq,
        )
        for rid, item in own.items()
    ]
    new_runs += [
        Run(run_id=pid, job_id=job_ids[job_key], first_seq=seq, last_seq=seq, is_placeholder=True)
        for pid, (job_key, seq) in parents.items()
        if pid not in own
    ]
    Run.objects.bulk_create(new_runs, ignore_conflicts=True)
    all_ids = list(own) + [p for p in parents if p not in own]
    runs = {r.run_id: r for r in Run.objects.filter(run_id__in=all_ids)}

    # State history: one row per reported state; the current state is derived from event time.
    changes = []
    for item in run_items:
        state = item.event.get("eventType")
        if state:
            run = runs[uuid.UUID(item.event["run"]["runId"])]
            changes.append(RunStateChange(run=run, state=state, event_time=item.event_time, seq=item.seq))
    RunStateChange.objects.bulk_create(changes, ignore_conflicts=True)

    edges = []
    for item in run_items:
        run = runs[uuid.UUID(item.event["run"]["runId"])]
        for direction, key in (
            (RunDataset.Direction.INPUT, "inputs"),
            (RunDataset.Direction.OUTPUT, "outputs"),
        ):
            for ds in _dataset_keys(item.event.get(key) or []):
                edges.append(
                    RunDataset(
                        run=run,
                        dataset_id=dataset_ids[ds],
                        direction=direction,
                        first_seq=item.seq,
                        event_time=item.event_time,
                    )
                )
    RunDataset.objects.bulk_create(edges, ignore_conflicts=True)

    own_runs = [runs[rid] for rid in own]
    history: dict[int, list[tuple[datetime, int, str]]] = {r.id: [] for r in own_runs}
    for run_id, state, when, seq in RunStateChange.objects.filter(run_id__in=list(history)).values_list(
        "run_id", "state", "event_time", "seq"
    ):
        history[run_id].append((when, seq, state))
    max_seq = max(i.seq for i in run_items)
    for run in own_runs:
        run.is_placeholder = False
        run.last_seq = max(run.last_seq, max_seq)
        parent_uuid = parent_of.get(run.run_id)
        if parent_uuid is not None and run.parent_id is None:
            run.parent_id = runs[parent_uuid].id
        _apply_state(run, history[run.id])
    Run.objects.bulk_update(
        own_runs,
        ["is_placeholder", "last_seq", "parent", "state", "state_event_time", "started_at", "ended_at"],
        batch_size=500,
    )
    return {r.id for r in runs.values()}


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


def _apply_state(run: Run, history: list[tuple[datetime, int, str]]) -> None:
    run.state, run.state_event_time = run_current_state(history)
    starts = [when for when, _, state in history if state in (RunState.START, RunState.RUNNING)]
    run.started_at = min(starts) if starts else (min(h[0] for h in history) if history else None)
    ends = [when for when, _, state in history if state in TERMINAL_STATES]
    run.ended_at = max(ends) if ends else None
