"""Set-based lineage walks the catalog needs, as of a ledger sequence.

Each level is one query over ``RunDataset`` (input and output edges of runs); nothing loads the
whole graph. The walk remembers, for every dataset it reaches, the job and the dataset it was
reached from, so a finding can show the path.

These walks live here until ``lineage.graph`` offers the same as-of queries; they only read
``lineage`` tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from lineage.models import Dataset, Job, RunDataset

MAX_DEPTH = 64
CHUNK = 500


@dataclass
class Walk:
    """Datasets reached (with depth and the step they were reached by) and the jobs passed."""

    depth: dict[int, int] = field(default_factory=dict)
    via: dict[int, tuple[int, int]] = field(default_factory=dict)  # dataset -> (job, previous dataset)
    entry: dict[int, int] = field(default_factory=dict)  # start dataset -> the start job that read it
    jobs: set[int] = field(default_factory=set)

    @property
    def dataset_ids(self) -> set[int]:
        return set(self.depth)


def _seq_filter(prefix: str, as_of_seq: int | None) -> Q:
    return Q() if as_of_seq is None else Q(**{f"{prefix}first_seq__lte": as_of_seq})


def _inputs_of_jobs(job_ids: Iterable[int], as_of_seq: int | None) -> dict[int, int]:
    """Datasets the given jobs' runs read, each with one job that read it."""
    ids = sorted(job_ids)
    found: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        rows = RunDataset.objects.filter(
            Q(direction=RunDataset.Direction.INPUT, run__job_id__in=ids[start : start + CHUNK])
            & _seq_filter("", as_of_seq)
        ).values_list("dataset_id", "run__job_id")
        for dataset_id, job_id in rows.distinct().order_by("dataset_id", "run__job_id"):
            found.setdefault(dataset_id, job_id)
    return found


def _writers(dataset_ids: list[int], as_of_seq: int | None) -> set[int]:
    """Jobs whose runs wrote any of these datasets (also those that read nothing)."""
    found: set[int] = set()
    for start in range(0, len(dataset_ids), CHUNK):
        found.update(
            RunDataset.objects.filter(
                Q(direction=RunDataset.Direction.OUTPUT, dataset_id__in=dataset_ids[start : start + CHUNK])
                & _seq_filter("", as_of_seq)
            )
            .values_list("run__job_id", flat=True)
            .distinct()
        )
    return found


def upstream(
    *,
    dataset_ids: Iterable[int] = (),
    job_ids: Iterable[int] = (),
    as_of_seq: int | None = None,
    max_depth: int = MAX_DEPTH,
) -> Walk:
    """Everything upstream of the given datasets and of the inputs of the given jobs' runs.

    The start datasets (and the inputs of the start jobs) are at depth 0.
    """
    walk = Walk()
    job_ids = set(job_ids)
    walk.jobs |= job_ids
    walk.entry = _inputs_of_jobs(job_ids, as_of_seq)
    frontier = set(dataset_ids) | set(walk.entry)
    for dataset_id in set(dataset_ids):
        walk.entry.pop(dataset_id, None)
    for dataset_id in frontier:
        walk.depth[dataset_id] = 0
    level = 0
    while frontier and level < max_depth:
        level += 1
        nxt: set[int] = set()
        ids = sorted(frontier)
        walk.jobs |= _writers(ids, as_of_seq)
        for start in range(0, len(ids), CHUNK):
            rows = RunDataset.objects.filter(
                Q(
                    direction=RunDataset.Direction.INPUT,
                    run__io__direction=RunDataset.Direction.OUTPUT,
                    run__io__dataset_id__in=ids[start : start + CHUNK],
                )
                & _seq_filter("", as_of_seq)
                & _seq_filter("run__io__", as_of_seq)
            ).values_list("dataset_id", "run__job_id", "run__io__dataset_id")
            for source, job, target in rows.distinct():
                walk.jobs.add(job)
                if source not in walk.depth:
                    walk.depth[source] = level
                    walk.via[source] = (job, target)
                    nxt.add(source)
        frontier = nxt
    return walk


def downstream(*, dataset_ids: Iterable[int], as_of_seq: int | None = None, max_depth: int = MAX_DEPTH) -> Walk:
    """Everything downstream of the given datasets, and the jobs that read any of them."""
    walk = Walk()
    frontier = set(dataset_ids)
    for dataset_id in frontier:
        walk.depth[dataset_id] = 0
    level = 0
    while frontier and level < max_depth:
        level += 1
        nxt: set[int] = set()
        ids = sorted(frontier)
        for start in range(0, len(ids), CHUNK):
            rows = RunDataset.objects.filter(
                Q(
                    direction=RunDataset.Direction.OUTPUT,
                    run__io__direction=RunDataset.Direction.INPUT,
                    run__io__dataset_id__in=ids[start : start + CHUNK],
                )
                & _seq_filter("", as_of_seq)
                & _seq_filter("run__io__", as_of_seq)
            ).values_list("dataset_id", "run__job_id", "run__io__dataset_id")
            for target, job, source in rows.distinct():
                walk.jobs.add(job)
                if target not in walk.depth:
                    walk.depth[target] = level
                    walk.via[target] = (job, source)
                    nxt.add(target)
        frontier = nxt
    # Jobs that read the last level (e.g. serving jobs with no outputs) are downstream too.
    walk.jobs |= set(
        RunDataset.objects.filter(
            direction=RunDataset.Direction.INPUT, dataset_id__in=list(walk.depth)[:10_000]
        ).values_list("run__job_id", flat=True)
    )
    return walk


def node_names(*, dataset_ids: Iterable[int] = (), job_ids: Iterable[int] = ()) -> dict[tuple[str, int], str]:
    """Reference-server node ids (``dataset:ns:name``, ``job:ns:name``) keyed by (kind, pk)."""
    names: dict[tuple[str, int], str] = {}
    ids = list(set(dataset_ids))
    for start in range(0, len(ids), CHUNK):
        for pk, ns, name in Dataset.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "namespace__name", "name"
        ):
            names[("dataset", pk)] = f"dataset:{ns}:{name}"
    ids = list(set(job_ids))
    for start in range(0, len(ids), CHUNK):
        for pk, ns, name in Job.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "namespace__name", "name"
        ):
            names[("job", pk)] = f"job:{ns}:{name}"
    return names


def path_to(walk: Walk, dataset_id: int) -> list[tuple[str, int]]:
    """The steps from ``dataset_id`` back to where the walk started: dataset, job, dataset, …"""
    steps: list[tuple[str, int]] = [("dataset", dataset_id)]
    seen = {dataset_id}
    while dataset_id in walk.via:
        job, dataset_id = walk.via[dataset_id]
        if dataset_id in seen:
            break
        seen.add(dataset_id)
        steps += [("job", job), ("dataset", dataset_id)]
    if dataset_id in walk.entry:
        steps.append(("job", walk.entry[dataset_id]))
    return steps
