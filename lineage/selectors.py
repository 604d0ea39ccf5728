"""Read-side selectors of the lineage app: what the read API lists and shows.

Each selector owns its ``select_related`` / ``prefetch_related`` so that a page costs a fixed
number of queries. Objects are model instances with the extra attributes the serializers need
(``latest_run``, ``io``, ``last_modified_at``) attached here, never computed in templates or
serializers.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from django.db.models import F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from config.errors import NotFound
from lineage.models import (
    Dataset,
    DatasetVersion,
    EdgeDirection,
    Job,
    JobVersion,
    LedgerEntry,
    Namespace,
    Run,
    RunDataset,
    Tag,
    valid_at,
)

CHUNK = 2_000


@dataclass(frozen=True)
class Page:
    """One page of a list and the size of the whole list."""

    items: Sequence[Any]
    total: int


# --- Namespace-scoped paths -----------------------------------------------------------------------

PathKind = Literal[
    "namespace",
    "datasets",
    "dataset",
    "dataset_versions",
    "dataset_version",
    "jobs",
    "job",
    "job_runs",
    "job_versions",
    "job_version",
]
_VERSION_SUFFIX = re.compile(r"^(?P<name>.+)/versions/(?P<version>[0-9a-fA-F-]{36})/?$")


@dataclass(frozen=True)
class CatalogPath:
    """What ``/api/v1/namespaces/<path>`` points at, once names are matched against the catalog."""

    kind: PathKind
    namespace: Namespace
    name: str = ""
    version: uuid.UUID | None = None


def catalog_path_resolve(path: str) -> CatalogPath:
    """Resolve the part of a URL after ``/api/v1/namespaces/``.

    Namespaces and names contain ``/`` (``s3://bucket``, ``raw/events``), and Django decodes
    ``%2F`` before routing, so the path cannot be split on slashes: the longest namespace that
    exists is taken, then a dataset or job name that exists (so that a dataset really called
    ``x/versions`` still resolves to itself).
    """
    for candidate in dict.fromkeys([path, path.rstrip("/")]):
        found = _resolve(candidate)
        if found is not None:
            return found
    raise NotFound(f"Nothing found at namespaces/{path}.")


def _resolve(path: str) -> CatalogPath | None:
    prefixes = [path[:i] for i, ch in enumerate(path) if ch == "/" and i > 0] + [path]
    namespaces = sorted(Namespace.objects.filter(name__in=prefixes), key=lambda n: len(n.name), reverse=True)
    if not namespaces:
        raise NotFound(f"Namespace not found in namespaces/{path}.")
    for namespace in namespaces:
        rest = path[len(namespace.name) :]
        if rest in ("", "/"):
            return CatalogPath("namespace", namespace)
        if rest in ("/datasets", "/datasets/"):
            return CatalogPath("datasets", namespace)
        if rest in ("/jobs", "/jobs/"):
            return CatalogPath("jobs", namespace)
        for prefix, model in (("/datasets/", Dataset), ("/jobs/", Job)):
            if rest.startswith(prefix):
                return _resolve_named(namespace, rest[len(prefix) :], model)
    return None


def _resolve_named(namespace: Namespace, rest: str, model: type[Dataset] | type[Job]) -> CatalogPath:
    kind = "dataset" if model is Dataset else "job"
    candidates: list[tuple[str, PathKind, uuid.UUID | None]] = [(rest, kind, None)]  # type: ignore[list-item]
    for suffix, sub in (("/versions", "versions"), ("/runs", "runs")):
        if sub == "runs" and model is Dataset:
            continue
        for tail in (suffix, suffix + "/"):
            if rest.endswith(tail):
                candidates.append((rest[: -len(tail)], f"{kind}_{sub}", None))  # type: ignore[arg-type]
    match = _VERSION_SUFFIX.match(rest)
    if match:
        candidates.append((match["name"], f"{kind}_version", uuid.UUID(match["version"])))  # type: ignore[arg-type]
    existing = set(
        model.objects.filter(namespace=namespace, name__in=[c[0] for c in candidates]).values_list("name", flat=True)
    )
    for name, path_kind, version in candidates:
        if name in existing:
            return CatalogPath(path_kind, namespace, name, version)
    raise NotFound(f"{kind.capitalize()} {rest!r} not found in namespace {namespace.name}.")


# --- Namespaces -----------------------------------------------------------------------------------


def namespace_list(*, limit: int, offset: int) -> Page:
    query = Namespace.objects.order_by("name")
    return Page(list(query[offset : offset + limit]), query.count())


def namespace_get(*, name: str) -> Namespace:
    namespace = Namespace.objects.filter(name=name).first()
    if namespace is None:
        raise NotFound(f"Namespace {name} not found.")
    return namespace


# --- Datasets --------------------------------------------------------------------------------------


def _datasets() -> QuerySet[Dataset]:
    last_write = (
        RunDataset.objects.filter(dataset=OuterRef("pk"), direction=EdgeDirection.OUTPUT)
        .order_by("-event_time")
        .values("event_time")[:1]
    )
    return Dataset.objects.select_related("namespace", "current_version").annotate(
        last_modified_at=Subquery(last_write)
    )


def dataset_list(*, namespace: Namespace, limit: int, offset: int) -> Page:
    query = _datasets().filter(namespace=namespace).order_by("name")
    return Page(list(query[offset : offset + limit]), Dataset.objects.filter(namespace=namespace).count())


def dataset_get(*, namespace: Namespace, name: str) -> Dataset:
    dataset = _datasets().filter(namespace=namespace, name=name).first()
    if dataset is None:
        raise NotFound(f"Dataset {name} not found in namespace {namespace.name}.")
    return dataset


def datasets_by_pk(pks: Iterable[int], *, as_of_seq: int | None = None) -> dict[int, Dataset]:
    """Datasets for graph nodes; as of a sequence, ``current_version`` is the version valid then."""
    found: dict[int, Dataset] = {}
    for chunk in _chunks(pks):
        found.update((d.pk, d) for d in _datasets().filter(pk__in=chunk))
    if as_of_seq is not None:
        for chunk in _chunks(found):
            for version in DatasetVersion.objects.filter(valid_at(as_of_seq), dataset_id__in=chunk):
                found[version.dataset_id].current_version = version
    return found


def _versions() -> QuerySet[DatasetVersion]:
    runs = Run.objects.select_related("job__namespace", "job_version", "parent", "root").prefetch_related(_io())
    return DatasetVersion.objects.select_related("dataset__namespace").prefetch_related(
        Prefetch("created_by_run", queryset=runs)
    )


def dataset_version_list(*, dataset: Dataset, limit: int, offset: int) -> Page:
    query = _versions().filter(dataset=dataset).order_by("-first_seq")
    return Page(list(query[offset : offset + limit]), DatasetVersion.objects.filter(dataset=dataset).count())


def dataset_version_get(*, dataset: Dataset, version: uuid.UUID) -> DatasetVersion:
    found = _versions().filter(dataset=dataset, version=version).first()
    if found is None:
        raise NotFound(f"Version {version} of dataset {dataset.name} not found.")
    return found


# --- Jobs and runs -----------------------------------------------------------------------------------


def _io() -> Any:  # a Prefetch of the run's RunDataset rows
    return Prefetch(
        "io", queryset=RunDataset.objects.select_related("dataset__namespace").order_by("direction", "dataset__name")
    )


def _runs() -> QuerySet[Run]:
    return Run.objects.select_related("job__namespace", "job_version", "parent", "root").prefetch_related(_io())


def _latest_run_subquery() -> Subquery:
    return Subquery(
        Run.objects.filter(job=OuterRef("pk"))
        .order_by(F("started_at").desc(nulls_last=True), "-first_seq")
        .values("pk")[:1]
    )


def _attach_latest_runs(jobs: Sequence[Job]) -> None:
    """One query for the latest run of every job in ``jobs`` (annotated with ``latest_run_pk``)."""
    wanted = {job.pk: getattr(job, "latest_run_pk", None) for job in jobs}
    runs = {r.pk: r for r in _runs().filter(pk__in=[pk for pk in wanted.values() if pk])}
    for job in jobs:
        pk = wanted[job.pk]
        job.latest_run = runs.get(pk) if pk else None  # type: ignore[attr-defined]


def _jobs() -> QuerySet[Job]:
    return Job.objects.select_related("namespace", "current_version").annotate(latest_run_pk=_latest_run_subquery())


def job_list(*, namespace: Namespace, limit: int, offset: int) -> Page:
    jobs = list(_jobs().filter(namespace=namespace).order_by("name")[offset : offset + limit])
    _attach_latest_runs(jobs)
    return Page(jobs, Job.objects.filter(namespace=namespace).count())


def job_get(*, namespace: Namespace, name: str) -> Job:
    job = _jobs().filter(namespace=namespace, name=name).first()
    if job is None:
        raise NotFound(f"Job {name} not found in namespace {namespace.name}.")
    _attach_latest_runs([job])
    return job


def jobs_by_pk(pks: Iterable[int], *, as_of_seq: int | None = None) -> dict[int, Job]:
    """Jobs for graph nodes, with their latest run; as of a sequence, the version valid then and no run."""
    found: dict[int, Job] = {}
    for chunk in _chunks(pks):
        found.update((j.pk, j) for j in _jobs().filter(pk__in=chunk))
    if as_of_seq is None:
        _attach_latest_runs(list(found.values()))
        return found
    for job in found.values():
        job.latest_run = None  # type: ignore[attr-defined]
    for chunk in _chunks(found):
        for version in JobVersion.objects.filter(valid_at(as_of_seq), job_id__in=chunk):
            found[version.job_id].current_version = version
    return found


def job_ref(*, namespace: Namespace, name: str) -> Job:
    """The job itself, for listing what belongs to it."""
    job = Job.objects.filter(namespace=namespace, name=name).select_related("namespace").first()
    if job is None:
        raise NotFound(f"Job {name} not found in namespace {namespace.name}.")
    return job


def dataset_ref(*, namespace: Namespace, name: str) -> Dataset:
    """The dataset itself, for listing what belongs to it."""
    dataset = Dataset.objects.filter(namespace=namespace, name=name).select_related("namespace").first()
    if dataset is None:
        raise NotFound(f"Dataset {name} not found in namespace {namespace.name}.")
    return dataset


def job_run_list(*, job: Job, limit: int, offset: int) -> Page:
    query = _runs().filter(job=job).order_by(F("started_at").desc(nulls_last=True), "-first_seq")
    return Page(list(query[offset : offset + limit]), Run.objects.filter(job=job).count())


def job_version_list(*, job: Job, limit: int, offset: int) -> Page:
    versions = list(
        JobVersion.objects.filter(job=job)
        .select_related("job__namespace")
        .order_by("-first_seq")[offset : offset + limit]
    )
    _attach_latest_version_runs(versions)
    return Page(versions, JobVersion.objects.filter(job=job).count())


def job_version_get(*, job: Job, version: uuid.UUID) -> JobVersion:
    found = JobVersion.objects.filter(job=job, version=version).select_related("job__namespace").first()
    if found is None:
        raise NotFound(f"Version {version} of job {job.name} not found.")
    _attach_latest_version_runs([found])
    return found


def _attach_latest_version_runs(versions: Sequence[JobVersion]) -> None:
    latest = dict(
        Run.objects.filter(job_version__in=[v.version for v in versions])
        .values("job_version")
        .annotate(last=Max("pk"))
        .values_list("job_version", "last")
    )
    runs = {r.pk: r for r in _runs().filter(pk__in=latest.values())} if latest else {}
    for version in versions:
        last = latest.get(version.version)
        version.latest_run = runs.get(last) if last else None  # type: ignore[attr-defined]


def run_get(*, run_id: uuid.UUID) -> Run:
    run = _runs().filter(run_id=run_id).first()
    if run is None:
        raise NotFound(f"Run {run_id} not found.")
    return run


# --- Search, tags, events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    type: Literal["DATASET", "JOB"]
    name: str
    namespace: str
    updated_at: datetime

    @property
    def node_id(self) -> str:
        return f"{self.type.lower()}:{self.namespace}:{self.name}"


def _pattern(q: str) -> Q:
    """Case-insensitive match of ``q`` anywhere in the name; ``%`` and ``_`` are wildcards, as in Marquez."""
    if "%" not in q and "_" not in q:
        return Q(name__icontains=q)
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in q)
    return Q(name__iregex=regex)


def search(
    *,
    q: str,
    kind: Literal["dataset", "job"] | None,
    sort: Literal["name", "updated_at"],
    limit: int,
    namespace: str | None = None,
) -> Page:
    hits: list[SearchHit] = []
    total = 0
    scope = Q(namespace__name=namespace) if namespace else Q()
    for model, label in ((Dataset, "DATASET"), (Job, "JOB")):
        if kind and kind.upper() != label:
            continue
        query = model.objects.filter(_pattern(q), scope)
        total += query.count()
        order = ["-updated_at", "name"] if sort == "updated_at" else ["name"]
        for name, ns, updated in query.order_by(*order).values_list("name", "namespace__name", "updated_at")[:limit]:
            hits.append(SearchHit(label, name, ns, updated))  # type: ignore[arg-type]
    key = (lambda h: (-h.updated_at.timestamp(), h.name)) if sort == "updated_at" else (lambda h: (h.name, h.type))
    return Page(sorted(hits, key=key)[:limit], total)


def tag_list(*, limit: int, offset: int) -> Page:
    query = Tag.objects.order_by("name")
    return Page(list(query[offset : offset + limit]), query.count())


def lineage_event_list(
    *, before: datetime | None, after: datetime | None, ascending: bool, limit: int, offset: int
) -> Page:
    """OpenLineage events from the ledger, by event time, as they were received."""
    query = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EVENT)
    if before is not None:
        query = query.filter(event_time__lt=before)
    if after is not None:
        query = query.filter(event_time__gt=after)
    order = ["event_time", "seq"] if ascending else ["-event_time", "-seq"]
    payloads = query.order_by(*order).values_list("payload", flat=True)[offset : offset + limit]
    return Page([orjson.loads(p) for p in payloads], query.count())


# --- Helpers -------------------------------------------------------------------------------------------


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def run_io_by_direction(run: Run) -> dict[str, list[RunDataset]]:
    """The prefetched inputs and outputs of a run."""
    grouped: dict[str, list[RunDataset]] = defaultdict(list)
    for edge in run.io.all():
        grouped[edge.direction].append(edge)
    return grouped
