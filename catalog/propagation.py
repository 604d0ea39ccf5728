"""Classifications flow downstream along lineage.

Column level: through DIRECT column-lineage edges (IDENTITY, TRANSFORMATION, AGGREGATION) unless
the edge is ``masking``; INDIRECT edges (JOIN, FILTER…) carry nothing. Dataset level, where a
job gave no column lineage from an input to an output: every propagating classification of the
input (its own and its columns') flows to the output dataset — conservative, as nothing says
which columns were kept.

Inferred values are ``source=propagation`` assertions whose evidence holds the path (columns and
jobs) from the value's origin; a staff override (``present=False``) on a column stops it there and
everything downstream of it. The walk is set-based, one level at a time, from the datasets that
changed; a dataset is processed after every dataset on a longer path to it (longest-path levels),
so it sees its inputs' final values.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet

from catalog.models import Attribute, GovernanceAssertion, Source
from catalog.querysets import ids_in
from catalog.selectors import Governance, Value, classification_flags, governance_get
from catalog.services import AssertionSpec, Change, assertions_reconcile
from catalog.taxonomy import ClassificationFlags
from catalog.traversal import node_names
from lineage.models import RunDataset

logger = logging.getLogger(__name__)
MAX_LEVELS = 64
MAX_PATH = 60
CHUNK = 500


@dataclass(frozen=True)
class ColumnEdge:
    output_dataset: int
    output_field: str
    input_dataset: int
    input_field: str
    transformation_type: str
    masking: bool
    job: int | None


def column_lineage_model() -> type[Model] | None:
    """``lineage.ColumnLineageEdge`` once the graph layer provides it; None before."""
    try:
        return apps.get_model("lineage", "ColumnLineageEdge")
    except LookupError:
        return None


def carries(edge: ColumnEdge) -> bool:
    """Whether a column-lineage edge carries classifications from its input to its output."""
    return edge.transformation_type == "DIRECT" and not edge.masking


def _classified() -> QuerySet[GovernanceAssertion]:
    """Datasets with a current classification, as a subquery: the only inputs that can carry one.

    A superset of those whose effective values hold a propagating classification (an override or
    a non-propagating key may still leave them with nothing to pass on).
    """
    return GovernanceAssertion.objects.filter(
        attribute=Attribute.CLASSIFICATION, valid_to_seq__isnull=True, present=True
    ).values("dataset_id")


def _column_edges(output_ids: list[int]) -> list[ColumnEdge]:
    """Current column-lineage edges into these datasets, from inputs that have a classification."""
    model = column_lineage_model()
    if model is None or not output_ids:
        return []
    edges: list[ColumnEdge] = []
    for start in range(0, len(output_ids), CHUNK):
        rows = model.objects.filter(
            output_dataset_id__in=ids_in(output_ids[start : start + CHUNK]),
            input_dataset_id__in=_classified(),
            valid_to_seq__isnull=True,
        ).values_list(
            "output_dataset_id",
            "output_field",
            "input_dataset_id",
            "input_field",
            "transformation_type",
            "masking",
            "job_id",
        )
        edges += [ColumnEdge(*row) for row in rows]
    return edges


def _levels(seeds: set[int]) -> list[list[int]]:
    """Seeds and everything downstream, grouped by the longest path from a seed."""
    depth = dict.fromkeys(seeds, 0)
    frontier = set(seeds)
    level = 0
    while frontier and level < MAX_LEVELS:
        level += 1
        nxt: set[int] = set()
        ids = sorted(frontier)
        for start in range(0, len(ids), CHUNK):
            rows = RunDataset.objects.filter(
                direction=RunDataset.Direction.OUTPUT,
                run__io__direction=RunDataset.Direction.INPUT,
                run__io__dataset_id__in=ids_in(ids[start : start + CHUNK]),
            ).values_list("dataset_id", flat=True)
            for target in rows.distinct():
                if depth.get(target, -1) < level:
                    depth[target] = level
                    nxt.add(target)
        frontier = nxt
    grouped: dict[int, list[int]] = defaultdict(list)
    for dataset_id, d in depth.items():
        grouped[d].append(dataset_id)
    return [sorted(grouped[d]) for d in sorted(grouped)]


def _origin(value: Value, node: str) -> tuple[list[str], dict[str, Any]]:
    if value.source == Source.PROPAGATION and value.evidence.get("path"):
        return list(value.evidence["path"]), dict(value.evidence.get("origin") or {})
    return [node], {"node": node, "source": value.source, "first_seq": value.first_seq}


def _evidence(value: Value, source_node: str, job_node: str, target_node: str, via: str) -> dict[str, Any]:
    path, origin = _origin(value, source_node)
    path = [*path, job_node, target_node]
    if len(path) > MAX_PATH:
        path = [*path[:2], "…", *path[-(MAX_PATH - 3) :]]
    return {"path": path, "origin": origin, "via": via}


def _field_node(dataset_node: str, column: str) -> str:
    return "datasetField:" + dataset_node.removeprefix("dataset:") + f":{column}"


def _propagating(values: Iterable[Value], flags: dict[str, ClassificationFlags]) -> list[Value]:
    return [v for v in values if v.value in flags and flags[v.value].propagates]


def _carries_any(gov: Governance, flags: dict[str, ClassificationFlags]) -> bool:
    """Whether a dataset has a propagating classification, on itself or on any column."""
    values = list(gov.values.get(Attribute.CLASSIFICATION, []))
    for column in gov.columns.values():
        values += column.get(Attribute.CLASSIFICATION, [])
    return bool(_propagating(values, flags))


def _propagate_level(targets: list[int], flags: dict[str, ClassificationFlags]) -> list[Change]:
    # Only edges from classified inputs can carry anything; a sweep level can hold tens of
    # thousands of targets fed by unclassified data. (Column edges are filtered alike, so the
    # dataset-level fallback below still skips exactly the pairs that have column lineage.)
    edges: set[tuple[int, int, int]] = set()  # (input, job, output)
    for start in range(0, len(targets), CHUNK):
        edges.update(
            RunDataset.objects.filter(
                direction=RunDataset.Direction.INPUT,
                dataset_id__in=_classified(),
                run__io__direction=RunDataset.Direction.OUTPUT,
                run__io__dataset_id__in=ids_in(targets[start : start + CHUNK]),
            )
            .values_list("dataset_id", "run__job_id", "run__io__dataset_id")
            .distinct()
        )
    column_edges = _column_edges(targets)
    inputs = {i for i, _, _ in edges} | {e.input_dataset for e in column_edges}
    governance: dict[int, Governance] = governance_get(dataset_ids=inputs)
    # Names only for the edges that carry something: evidence paths are all they are used for,
    # and a sweep level can hold tens of thousands of targets of which few receive a value.
    carrying = {i for i in inputs if _carries_any(governance[i], flags)}
    named_datasets: set[int] = set()
    named_jobs: set[int] = set()
    for edge in column_edges:
        if edge.input_dataset in carrying:
            named_datasets |= {edge.input_dataset, edge.output_dataset}
            named_jobs.add(edge.job)
    for source, job, target in edges:
        if source in carrying:
            named_datasets |= {source, target}
            named_jobs.add(job)
    names = node_names(dataset_ids=named_datasets, job_ids={j for j in named_jobs if j})

    def dnode(pk: int) -> str:
        return names.get(("dataset", pk), f"dataset:#{pk}")

    def jnode(pk: int | None) -> str:
        return names.get(("job", pk), f"job:#{pk}") if pk else "job:?"

    desired: dict[tuple[int, str, str, str], AssertionSpec] = {}

    def want(target: int, column: str, value: Value, evidence: dict[str, Any]) -> None:
        key = (target, column, Attribute.CLASSIFICATION, value.value)
        if key not in desired:
            desired[key] = AssertionSpec(target, column, Attribute.CLASSIFICATION, value.value, evidence)

    with_columns: dict[int, set[int]] = defaultdict(set)
    for edge in sorted(column_edges, key=lambda e: (e.output_dataset, e.output_field, e.input_dataset, e.input_field)):
        with_columns[edge.output_dataset].add(edge.input_dataset)
        if not carries(edge) or (edge.input_dataset == edge.output_dataset and edge.input_field == edge.output_field):
            continue
        gov = governance.get(edge.input_dataset)
        if gov is None:
            continue
        source_ds = dnode(edge.input_dataset)
        target_node = _field_node(dnode(edge.output_dataset), edge.output_field)
        column_values = gov.columns.get(edge.input_field, {}).get(Attribute.CLASSIFICATION, [])
        for value in _propagating(column_values, flags):
            evidence = _evidence(
                value, _field_node(source_ds, edge.input_field), jnode(edge.job), target_node, "column"
            )
            want(edge.output_dataset, edge.output_field, value, evidence)
        for value in _propagating(gov.values.get(Attribute.CLASSIFICATION, []), flags):
            want(
                edge.output_dataset,
                "",
                value,
                _evidence(value, source_ds, jnode(edge.job), dnode(edge.output_dataset), "column"),
            )
    for source, job, target in sorted(edges):
        if source == target or source in with_columns.get(target, ()):
            continue
        gov = governance.get(source)
        if gov is None:
            continue
        candidates = [(dnode(source), v) for v in gov.values.get(Attribute.CLASSIFICATION, [])]
        for column, values in sorted(gov.columns.items()):
            candidates += [(_field_node(dnode(source), column), v) for v in values.get(Attribute.CLASSIFICATION, [])]
        for source_node, value in candidates:
            if value.value in flags and flags[value.value].propagates:
                want(target, "", value, _evidence(value, source_node, jnode(job), dnode(target), "dataset"))

    scope = {(d, f, a) for d, f, a, _ in desired}
    for start in range(0, len(targets), CHUNK):
        scope.update(
            GovernanceAssertion.objects.filter(
                source=Source.PROPAGATION,
                valid_to_seq__isnull=True,
                dataset_id__in=ids_in(targets[start : start + CHUNK]),
            ).values_list("dataset_id", "field", "attribute")
        )
    return assertions_reconcile(
        source=Source.PROPAGATION, scope=scope, desired=desired.values(), action="classification.propagated"
    )


@dataclass(frozen=True)
class Propagation:
    datasets: int
    levels: int
    changes: list[Change]


def classifications_propagate(*, dataset_ids: Iterable[int] | None = None) -> Propagation:
    """Recompute inferred classifications for these datasets and everything downstream of them.

    With ``dataset_ids=None``, start from every dataset that has a classification or an inferred
    one (the periodic sweep). Idempotent: a second run finds nothing to change.
    """
    if dataset_ids is None:
        seeds = set(
            GovernanceAssertion.objects.filter(
                attribute=Attribute.CLASSIFICATION, valid_to_seq__isnull=True
            ).values_list("dataset_id", flat=True)
        )
    else:
        seeds = set(dataset_ids)
    if not seeds:
        return Propagation(datasets=0, levels=0, changes=[])
    flags = classification_flags()
    levels = _levels(seeds)
    changes: list[Change] = []
    for level in levels:
        changes += _propagate_level(level, flags)
    return Propagation(datasets=sum(len(level) for level in levels), levels=len(levels), changes=changes)
