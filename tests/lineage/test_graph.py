"""The graph query layer: lineage walks, paths, column lineage and impact, as of any ledger position."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import NotFound
from lineage import graph
from lineage.graph import InvalidQuery, NodeKind
from lineage.services import events_ingest
from tests.factories import PRODUCER, T0, dataset, later, run_event

pytestmark = pytest.mark.django_db

NS = "s3://lake"


def ds(name: str, **facets: Any) -> dict[str, Any]:
    return dataset(NS, name, **facets)


def job_run(job: str, inputs: list[str], outputs: list[str], **kwargs: Any) -> dict[str, Any]:
    return run_event(job=job, inputs=[ds(n) for n in inputs], outputs=[ds(n) for n in outputs], **kwargs)


def ingest(*events: dict[str, Any], **kwargs: Any) -> int:
    outcome = events_ingest(events=list(events), **kwargs)
    return max(r.seq for r in outcome.results if r.seq is not None)


def ids(result: graph.LineageGraph) -> set[str]:
    return {n.id for n in result.nodes}


def d(name: str) -> str:
    return f"dataset:{NS}:{name}"


def j(name: str) -> str:
    return f"job:airflow://eu:{name}"


@pytest.fixture
def pipeline() -> int:
    """raw -> ingest -> clean -> features -> feats (+ labels) ; clean -> report -> dashboard."""
    return ingest(
        job_run("ingest", ["raw"], ["clean"]),
        job_run("features", ["clean", "labels"], ["feats"]),
        job_run("report", ["clean"], ["dashboard"]),
    )


# --- Lineage ------------------------------------------------------------------------------------------


def test_upstream_depth_one_is_the_writers_and_what_they_read(pipeline: int) -> None:
    result = graph.upstream(d("feats"), depth=1)

    assert ids(result) == {d("feats"), j("features"), d("clean"), d("labels")}


def test_upstream_depth_two_reaches_one_more_job_level(pipeline: int) -> None:
    result = graph.upstream(d("feats"), depth=2)

    assert ids(result) == {d("feats"), j("features"), d("clean"), d("labels"), j("ingest"), d("raw")}


def test_downstream_follows_readers_and_their_outputs(pipeline: int) -> None:
    result = graph.downstream(d("raw"), depth=2)

    assert ids(result) == {
        d("raw"),
        j("ingest"),
        d("clean"),
        j("features"),
        d("feats"),
        j("report"),
        d("dashboard"),
    }


def test_upstream_and_downstream_take_their_own_depths(pipeline: int) -> None:
    result = graph.lineage(d("clean"), upstream_depth=1, downstream_depth=0)

    assert ids(result) == {d("clean"), j("ingest"), d("raw")}
    assert {n.direction for n in result.nodes} == {"root", "upstream"}


def test_edges_point_in_the_direction_data_flows(pipeline: int) -> None:
    result = graph.upstream(d("clean"), depth=1)

    assert {(e.origin, e.destination) for e in result.edges} == {(d("raw"), j("ingest")), (j("ingest"), d("clean"))}


def test_job_node_starts_from_its_own_inputs_and_outputs(pipeline: int) -> None:
    result = graph.lineage(j("features"), upstream_depth=1, downstream_depth=1)

    assert {d("clean"), d("labels"), d("feats"), j("ingest"), d("raw")} <= ids(result)


def test_run_node_stands_for_its_job(pipeline: int) -> None:
    from lineage.models import Run

    run = Run.objects.get(job__name="report")

    result = graph.upstream(f"run:{run.run_id}", depth=1)

    assert result.root == j("report")
    assert d("clean") in ids(result)


def test_node_cap_truncates_and_says_so(pipeline: int) -> None:
    result = graph.downstream(d("raw"), depth=5, node_cap=3)

    assert result.truncated
    assert len(result.nodes) == 3


def test_walk_through_a_cycle_terminates_and_reports_the_cycle() -> None:
    ingest(job_run("a_to_b", ["a"], ["b"]), job_run("b_to_a", ["b"], ["a"]))

    result = graph.downstream(d("a"), depth=50)

    assert ids(result) == {d("a"), j("a_to_b"), d("b"), j("b_to_a")}
    assert result.topological_order() is None
    assert len(result.cycles()) == 1


def test_topological_order_follows_the_data(pipeline: int) -> None:
    order = graph.downstream(d("raw"), depth=3).topological_order()

    assert order is not None
    assert order.index(d("raw")) < order.index(j("ingest")) < order.index(d("clean")) < order.index(d("feats"))


def test_lineage_keeps_what_older_job_versions_read() -> None:
    ingest(job_run("train", ["features_v1"], ["model"]))

    ingest(job_run("train", ["features_v2"], ["model"]))

    assert {d("features_v1"), d("features_v2")} <= ids(graph.upstream(d("model"), depth=1))


def test_as_of_sequence_leaves_out_what_was_learned_later() -> None:
    first = ingest(job_run("train", ["features_v1"], ["model"]))
    ingest(job_run("train", ["features_v2"], ["model"]))

    result = graph.upstream(d("model"), depth=1, as_of_seq=first)

    assert ids(result) == {d("model"), j("train"), d("features_v1")}
    assert result.as_of_seq == first


def test_node_learned_after_the_as_of_sequence_is_not_found() -> None:
    first = ingest(job_run("train", ["features"], ["model_v1"]))
    ingest(job_run("train", ["features"], ["model_v2"]))

    with pytest.raises(NotFound):
        graph.upstream(d("model_v2"), depth=1, as_of_seq=first)


def test_as_of_timestamp_uses_what_had_been_received_by_then() -> None:
    ingest(job_run("train", ["features_v1"], ["model"]), received_at=T0)
    ingest(job_run("train", ["features_v2"], ["model"]), received_at=T0 + timedelta(days=30))

    result = graph.upstream(d("model"), depth=1, as_of=T0 + timedelta(days=1))

    assert d("features_v2") not in ids(result)
    assert d("features_v1") in ids(result)


def test_as_of_before_anything_was_received_is_an_empty_graph() -> None:
    ingest(job_run("train", ["x"], ["model"]), received_at=T0)

    assert graph.as_of_resolve(as_of=T0 - timedelta(days=1)) == 0


def test_static_edge_that_a_later_job_event_drops_is_gone_as_of_then() -> None:
    def job_event(inputs: list[str]) -> dict[str, Any]:
        return {
            "eventTime": later(1).isoformat(),
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
            "job": {"namespace": "airflow://eu", "name": "declared", "facets": {}},
            "inputs": [ds(n) for n in inputs],
            "outputs": [ds("out")],
        }

    before = ingest(job_event(["a", "b"]))
    after = ingest(job_event(["a"]))

    assert d("b") in ids(graph.upstream(d("out"), depth=1, as_of_seq=before))
    assert d("b") not in ids(graph.upstream(d("out"), depth=1, as_of_seq=after))


def test_walk_costs_a_fixed_number_of_queries_per_level_whatever_the_fan_out() -> None:
    ingest(*(job_run(f"fan{i}", ["source"], [f"leaf{i}"]) for i in range(30)))

    with CaptureQueriesContext(connection) as queries:
        result = graph.downstream(d("source"), depth=3)

    assert len(result.nodes) == 61
    assert len(queries) <= 2 + 3 * 2 + 3  # parse, resolve; two per level; names


# --- Node ids -------------------------------------------------------------------------------------------


def test_dataset_node_id_with_colons_in_namespace_and_name_parses() -> None:
    ingest(run_event(inputs=[dataset("postgres://db.internal:5432", "public:users")], outputs=[]))

    ref = graph.node_parse("dataset:postgres://db.internal:5432:public:users")

    assert (ref.kind, ref.namespace, ref.name) == (NodeKind.DATASET, "postgres://db.internal:5432", "public:users")


def test_field_node_id_splits_dataset_and_field_by_what_exists() -> None:
    ingest(run_event(inputs=[dataset("postgres://db:5432", "a:b")], outputs=[]))

    ref = graph.node_parse("datasetField:postgres://db:5432:a:b:email")

    assert (ref.name, ref.field) == ("a:b", "email")


def test_job_node_id_in_a_namespace_with_a_port_parses() -> None:
    ingest(run_event(namespace="spark://host:7077", job="etl:nightly"))

    ref = graph.node_parse("job:spark://host:7077:etl:nightly")

    assert (ref.namespace, ref.name) == ("spark://host:7077", "etl:nightly")


def test_unknown_node_is_not_found() -> None:
    with pytest.raises(NotFound):
        graph.node_parse("dataset:s3://nowhere:missing")


def test_malformed_node_id_is_invalid() -> None:
    with pytest.raises(InvalidQuery):
        graph.node_parse("table:whatever")


def test_node_id_round_trips(pipeline: int) -> None:
    assert graph.node_parse(d("clean")).node_id == d("clean")


# --- Paths ------------------------------------------------------------------------------------------------


def test_path_shows_how_data_got_from_a_to_b(pipeline: int) -> None:
    result = graph.paths(d("raw"), d("feats"))

    assert result.paths == ((d("raw"), j("ingest"), d("clean"), j("features"), d("feats")),)


def test_unconnected_nodes_have_no_path(pipeline: int) -> None:
    result = graph.paths(d("labels"), d("dashboard"))

    assert not result.connected


def test_path_walk_ignores_what_the_source_feeds_elsewhere() -> None:
    ingest(
        job_run("main", ["a"], ["b"]),
        job_run("finish", ["b"], ["z"]),
        *(job_run(f"elsewhere{i}", ["a"], [f"other{i}"]) for i in range(5)),
    )

    result = graph.paths(d("a"), d("z"))

    assert result.paths == ((d("a"), j("main"), d("b"), j("finish"), d("z")),)
    assert not any("other" in n.id for n in result.graph.nodes)


def test_several_paths_are_listed_shortest_first() -> None:
    ingest(job_run("direct", ["a"], ["z"]), job_run("step1", ["a"], ["m"]), job_run("step2", ["m"], ["z"]))

    result = graph.paths(d("a"), d("z"))

    assert [len(p) for p in result.paths] == [3, 5]


# --- Impact --------------------------------------------------------------------------------------------------


def test_impact_groups_everything_downstream_by_kind(pipeline: int) -> None:
    ingest(job_run("serve", ["feats"], []))

    result = graph.impact(d("clean"))

    groups = {g.kind: set(g.node_ids) for g in result.groups}
    assert groups["dataset:DATASET"] == {d("feats"), d("dashboard")}
    assert groups["job:JOB"] == {j("features"), j("report"), j("serve")}
    assert result.total == 5


# --- Column lineage --------------------------------------------------------------------------------------------


def column_facet(mapping: dict[str, list[tuple[str, str, str, str]]]) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            out: {
                "inputFields": [
                    {"namespace": NS, "name": src, "field": col, "transformations": [{"type": kind, "subtype": sub}]}
                    for src, col, kind, sub in inputs
                ]
            }
            for out, inputs in mapping.items()
        },
    }


@pytest.fixture
def columns() -> int:
    """users.email -> masked.email_hash -> report.contact ; users.id joins into report.contact."""
    return ingest(
        run_event(
            job="mask",
            inputs=[ds("users")],
            outputs=[
                ds(
                    "masked",
                    columnLineage=column_facet({"email_hash": [("users", "email", "DIRECT", "TRANSFORMATION")]}),
                )
            ],
        ),
        run_event(
            job="report",
            inputs=[ds("masked"), ds("users")],
            outputs=[
                ds(
                    "report",
                    columnLineage=column_facet(
                        {
                            "contact": [
                                ("masked", "email_hash", "DIRECT", "IDENTITY"),
                                ("users", "id", "INDIRECT", "JOIN"),
                            ]
                        }
                    ),
                )
            ],
        ),
    )


def test_column_lineage_upstream_of_a_field(columns: int) -> None:
    result = graph.column_lineage(f"datasetField:{NS}:report:contact", depth=5)

    assert {n.id for n in result.nodes} == {
        f"datasetField:{NS}:report:contact",
        f"datasetField:{NS}:masked:email_hash",
        f"datasetField:{NS}:users:email",
        f"datasetField:{NS}:users:id",
    }
    join = next(e for e in result.edges if e.origin.endswith(":users:id"))
    assert (join.transformation_type, join.subtype, join.job) == ("INDIRECT", "JOIN", j("report"))


def test_column_lineage_depth_one_stops_after_one_edge(columns: int) -> None:
    result = graph.column_lineage(f"datasetField:{NS}:report:contact", depth=1)

    assert f"datasetField:{NS}:users:email" not in {n.id for n in result.nodes}


def test_column_lineage_downstream_needs_to_be_asked_for(columns: int) -> None:
    start = f"datasetField:{NS}:users:email"

    upstream_only = graph.column_lineage(start, depth=5)
    both = graph.column_lineage(start, depth=5, with_downstream=True)

    assert {n.id for n in upstream_only.nodes} == {start}
    assert f"datasetField:{NS}:report:contact" in {n.id for n in both.nodes}


def test_column_lineage_of_a_dataset_starts_from_all_its_columns(columns: int) -> None:
    result = graph.column_lineage(d("report"), depth=1)

    assert f"datasetField:{NS}:masked:email_hash" in {n.id for n in result.nodes}


def test_impact_of_a_field_lists_the_columns_fed_from_it(columns: int) -> None:
    result = graph.impact(f"datasetField:{NS}:users:email")

    groups = {g.kind: set(g.node_ids) for g in result.groups}
    assert groups["datasetField"] == {f"datasetField:{NS}:masked:email_hash", f"datasetField:{NS}:report:contact"}


# --- Properties ---------------------------------------------------------------------------------------------------

NAMES = [f"n{i}" for i in range(6)]


@given(
    jobs=st.lists(
        st.tuples(st.lists(st.sampled_from(NAMES), max_size=2), st.lists(st.sampled_from(NAMES), max_size=2)),
        min_size=1,
        max_size=8,
    ),
    a=st.sampled_from(NAMES),
    b=st.sampled_from(NAMES),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_b_is_upstream_of_a_exactly_when_a_is_downstream_of_b(
    jobs: list[tuple[list[str], list[str]]], a: str, b: str
) -> None:
    with transaction.atomic():
        ingest(*(job_run(f"job{i}", ins, outs) for i, (ins, outs) in enumerate(jobs)), run_event(inputs=[ds(a), ds(b)]))
        up = ids(graph.upstream(d(a), depth=20))
        down = ids(graph.downstream(d(b), depth=20))
        transaction.set_rollback(True)

    assert (d(b) in up) == (d(a) in down)


@given(
    jobs=st.lists(
        st.tuples(st.lists(st.sampled_from(NAMES), max_size=2), st.lists(st.sampled_from(NAMES), max_size=2)),
        min_size=1,
        max_size=8,
    ),
    start=st.sampled_from(NAMES),
)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_lineage_as_of_the_head_equals_the_current_lineage(jobs: list[tuple[list[str], list[str]]], start: str) -> None:
    with transaction.atomic():
        head = ingest(
            *(job_run(f"job{i}", ins, outs) for i, (ins, outs) in enumerate(jobs)), run_event(inputs=[ds(start)])
        )
        now = graph.lineage(d(start), upstream_depth=10, downstream_depth=10)
        then = graph.lineage(d(start), upstream_depth=10, downstream_depth=10, as_of_seq=head)
        transaction.set_rollback(True)

    assert then == now
