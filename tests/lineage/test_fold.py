"""Folding accepted events into the graph: versions, fields, runs, symlinks, static lineage, column lineage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lineage.folding import FoldItem, graph_fold
from lineage.models import (
    ColumnLineageEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DatasetVersion,
    GraphCheckpoint,
    Job,
    JobDatasetEdge,
    JobVersion,
    Run,
    RunDataset,
    Tag,
)
from lineage.services import events_ingest
from tests.factories import PRODUCER, dataset, later, run_event

pytestmark = pytest.mark.django_db

FACETS = "https://openlineage.io/spec/facets"


def schema(*fields: str | dict[str, Any]) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"{FACETS}/1-2-0/SchemaDatasetFacet.json",
        "fields": [{"name": f, "type": "STRING"} if isinstance(f, str) else f for f in fields],
    }


def facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/1-0-0/Facet.json", **body}


def ingest(*events: dict[str, Any]) -> list[int]:
    outcome = events_ingest(events=list(events))
    assert [r.status for r in outcome.results] == ["accepted"] * len(events), outcome.results
    return [r.seq for r in outcome.results if r.seq is not None]


def versions(name: str) -> list[DatasetVersion]:
    return list(DatasetVersion.objects.filter(dataset__name=name).order_by("first_seq"))


def job_event(
    *, job: str = "etl.load", inputs: list[Any] | None = None, outputs: list[Any] | None = None, **facets: Any
):
    return {
        "eventTime": later(1).isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow://eu", "name": job, "facets": facets},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def dataset_event(ds: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventTime": later(1).isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": ds,
    }


# --- Dataset versions --------------------------------------------------------------------------


def test_repeated_runs_with_the_same_schema_keep_one_dataset_version() -> None:
    out = dataset(name="clean/out", schema=schema("id", "amount"))

    ingest(*(run_event(outputs=[out], inputs=[]) for _ in range(5)))

    assert len(versions("clean/out")) == 1


def test_schema_change_starts_a_new_version_and_ends_the_previous_one() -> None:
    (first,) = ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))

    (second,) = ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id", "email"))]))

    old, new = versions("t")
    assert (old.first_seq, old.valid_to_seq) == (first, second)
    assert (new.first_seq, new.valid_to_seq) == (second, None)
    assert Dataset.objects.get(name="t").current_version_id == new.version


def test_event_without_schema_keeps_the_known_schema() -> None:
    ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))

    ingest(run_event(inputs=[], outputs=[dataset(name="t")]))

    (only,) = versions("t")
    assert [f["name"] for f in only.schema_fields] == ["id"]


def test_lifecycle_change_starts_a_version_and_drop_marks_it_deleted() -> None:
    ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))

    ingest(run_event(inputs=[], outputs=[dataset(name="t", lifecycleStateChange=facet(lifecycleStateChange="DROP"))]))

    _old, dropped = versions("t")
    assert dropped.lifecycle_state == "DROP"
    assert dropped.is_deleted
    assert [f["name"] for f in dropped.schema_fields] == ["id"]


def test_producer_version_facet_starts_a_version_only_when_it_changes() -> None:
    v1 = dataset(name="t", version=facet(datasetVersion="1"))
    v2 = dataset(name="t", version=facet(datasetVersion="2"))

    ingest(run_event(inputs=[], outputs=[v1]), run_event(inputs=[], outputs=[v1]), run_event(inputs=[], outputs=[v2]))

    assert [v.producer_version for v in versions("t")] == ["1", "2"]


def test_each_run_edge_records_the_version_it_read_or_wrote() -> None:
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    ingest(run_event(run_id=run_a, inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))

    ingest(run_event(run_id=run_b, inputs=[], outputs=[dataset(name="t", schema=schema("id", "x"))]))

    old, new = versions("t")
    edges = dict(RunDataset.objects.filter(dataset__name="t").values_list("run__run_id", "dataset_version_id"))
    assert edges == {uuid.UUID(run_a): old.version, uuid.UUID(run_b): new.version}


def test_version_ids_are_the_same_when_the_ledger_is_replayed_elsewhere() -> None:
    ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))
    (version,) = versions("t")

    again = DatasetVersion.objects.get(pk=version.pk)

    assert again.version == version.version
    assert version.version.version == 5  # name-based UUID: a function of dataset, sequence and content


# --- Schema fields -----------------------------------------------------------------------------


def test_nested_schema_fields_are_stored_with_dotted_names() -> None:
    nested = {"name": "address", "type": "STRUCT", "fields": [{"name": "city", "type": "STRING"}]}

    ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id", nested))]))

    names = list(DatasetField.objects.filter(dataset__name="t").order_by("ordinal").values_list("name", flat=True))
    assert names == ["id", "address", "address.city"]


def test_removed_field_ends_and_unchanged_field_stays_open() -> None:
    (first,) = ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id", "email"))]))

    (second,) = ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema("id"))]))

    spans = dict(DatasetField.objects.filter(dataset__name="t").values_list("name", "valid_to_seq"))
    assert spans == {"id": None, "email": second}
    assert DatasetField.objects.get(dataset__name="t", name="id").first_seq == first


def test_field_type_change_ends_the_old_field_and_starts_a_new_one() -> None:
    ingest(run_event(inputs=[], outputs=[dataset(name="t", schema=schema({"name": "id", "type": "INT"}))]))

    (second,) = ingest(
        run_event(inputs=[], outputs=[dataset(name="t", schema=schema({"name": "id", "type": "BIGINT"}))])
    )

    rows = list(
        DatasetField.objects.filter(dataset__name="t").order_by("first_seq").values_list("type", "valid_to_seq")
    )
    assert rows == [("INT", second), ("BIGINT", None)]


# --- Jobs ---------------------------------------------------------------------------------------


def test_runs_that_name_inputs_at_start_and_outputs_at_completion_share_one_job_version() -> None:
    events = []
    for minute in range(3):
        run_id = str(uuid.uuid4())
        events.append(run_event(event_type="START", run_id=run_id, when=later(minute), outputs=[]))
        events.append(run_event(event_type="COMPLETE", run_id=run_id, when=later(minute), inputs=[]))

    ingest(*events)

    current = JobVersion.objects.get(job__name="etl.load", valid_to_seq__isnull=True)
    assert current.inputs == [["s3://bucket", "raw/in"]]
    assert current.outputs == [["s3://bucket", "clean/out"]]
    assert set(Run.objects.values_list("job_version_id", flat=True)) == {current.version}


def test_sql_change_starts_a_new_job_version() -> None:
    sql = {"sql": facet(query="select 1")}
    first = run_event()
    first["job"]["facets"] = sql
    second = run_event()
    second["job"]["facets"] = {"sql": facet(query="select 2")}

    ingest(first, second)

    rows = list(JobVersion.objects.order_by("first_seq").values_list("sql", "valid_to_seq"))
    assert [r[0] for r in rows] == ["select 1", "select 2"]
    assert rows[0][1] is not None


def test_job_dataset_edge_is_aggregated_across_runs() -> None:
    seqs = ingest(*(run_event() for _ in range(4)))

    edge = JobDatasetEdge.objects.get(job__name="etl.load", dataset__name="raw/in")
    assert (edge.direction, edge.source) == ("in", "run")
    assert (edge.first_seq, edge.last_seq, edge.valid_to_seq) == (seqs[0], seqs[-1], None)


# --- Runs ---------------------------------------------------------------------------------------


def parent_facet(parent: str, root: str | None = None, job: str = "dag") -> dict[str, Any]:
    body: dict[str, Any] = {
        "run": {"runId": parent},
        "job": {"namespace": "airflow://eu", "name": job},
    }
    if root:
        body["root"] = {"run": {"runId": root}, "job": {"namespace": "airflow://eu", "name": "root-dag"}}
    return {"parent": {**body, "_producer": PRODUCER, "_schemaURL": f"{FACETS}/1-2-0/ParentRunFacet.json"}}


def test_root_run_comes_from_the_parent_facet_and_is_a_placeholder_until_it_reports() -> None:
    parent, root, child = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())

    ingest(run_event(run_id=child, job="dag.task", run_facets=parent_facet(parent, root)))

    run = Run.objects.select_related("parent", "root").get(run_id=child)
    assert str(run.parent.run_id) == parent
    assert str(run.root.run_id) == root
    assert run.root.is_placeholder


def test_root_is_taken_from_the_parent_when_the_facet_names_none() -> None:
    root, middle, leaf = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    ingest(run_event(run_id=middle, job="dag.group", run_facets=parent_facet(root)))

    ingest(run_event(run_id=leaf, job="dag.group.task", run_facets=parent_facet(middle, job="dag.group")))

    assert str(Run.objects.get(run_id=leaf).root.run_id) == root


def test_failed_run_stays_failed_when_a_late_running_event_arrives() -> None:
    run_id = str(uuid.uuid4())

    ingest(
        run_event(event_type="FAIL", run_id=run_id, when=later(5)),
        run_event(event_type="RUNNING", run_id=run_id, when=later(9)),
    )

    assert Run.objects.get(run_id=run_id).state == "FAIL"


def test_run_facets_keep_the_latest_value_of_each_facet() -> None:
    run_id = str(uuid.uuid4())
    ingest(run_event(run_id=run_id, run_facets={"a": facet(v=1)}))

    ingest(run_event(run_id=run_id, event_type="START", run_facets={"b": facet(v=2)}))

    assert set(Run.objects.get(run_id=run_id).facets) == {"a", "b"}


# --- Symlinks and renames ------------------------------------------------------------------------


def symlinked(path: str, table: str) -> dict[str, Any]:
    ident = {"namespace": "hive://metastore", "name": table, "type": "TABLE"}
    return dataset("s3://bucket", path, symlinks=facet(identifiers=[ident]))


def test_table_symlink_becomes_the_canonical_dataset() -> None:
    ingest(run_event(inputs=[], outputs=[symlinked("warehouse/sales", "db.sales")]))

    ingest(run_event(job="report", inputs=[dataset("s3://bucket", "warehouse/sales")], outputs=[]))

    link = DatasetSymlink.objects.get()
    assert (link.dataset.name, link.canonical.name) == ("warehouse/sales", "db.sales")
    readers = JobDatasetEdge.objects.filter(direction="in", job__name="report")
    assert [e.dataset.name for e in readers] == ["db.sales"]


def test_symlink_moves_earlier_edges_of_the_alias_to_the_canonical_dataset() -> None:
    (first,) = ingest(run_event(job="writer", inputs=[], outputs=[dataset("s3://bucket", "warehouse/sales")]))

    (second,) = ingest(run_event(job="writer", inputs=[], outputs=[symlinked("warehouse/sales", "db.sales")]))

    edges = JobDatasetEdge.objects.filter(job__name="writer").order_by("first_seq")
    assert [(e.dataset.name, e.first_seq, e.valid_to_seq) for e in edges] == [
        ("warehouse/sales", first, second),
        ("db.sales", second, None),
    ]


def test_rename_makes_the_previous_name_an_alias_of_the_new_one() -> None:
    ingest(run_event(job="reader", inputs=[dataset(name="old_name")], outputs=[]))
    rename = facet(lifecycleStateChange="RENAME", previousIdentifier={"namespace": "s3://bucket", "name": "old_name"})

    ingest(run_event(job="renamer", inputs=[], outputs=[dataset(name="new_name", lifecycleStateChange=rename)]))

    link = DatasetSymlink.objects.get()
    assert (link.dataset.name, link.canonical.name, link.identifier_type) == ("old_name", "new_name", "RENAME")
    assert JobDatasetEdge.objects.get(job__name="reader", valid_to_seq__isnull=True).dataset.name == "new_name"


# --- Static lineage -------------------------------------------------------------------------------


def test_job_event_declares_static_edges_and_a_later_one_ends_what_it_no_longer_declares() -> None:
    a, b = dataset(name="a"), dataset(name="b")
    ingest(job_event(inputs=[a, b], outputs=[dataset(name="out")]))

    (second,) = ingest(job_event(inputs=[a], outputs=[dataset(name="out")]))

    spans = {(e.dataset.name, e.valid_to_seq) for e in JobDatasetEdge.objects.filter(source="static", direction="in")}
    assert spans == {("a", None), ("b", second)}
    assert JobVersion.objects.filter(job__name="etl.load").count() == 2


def test_dataset_event_creates_a_dataset_version_with_its_schema() -> None:
    ingest(dataset_event(dataset(name="static", schema=schema("id", "name"))))

    (version,) = versions("static")
    assert [f["name"] for f in version.schema_fields] == ["id", "name"]
    assert not Job.objects.exists()


# --- Column lineage --------------------------------------------------------------------------------


def column_facet(fields: dict[str, Any], dataset_level: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"fields": fields}
    if dataset_level is not None:
        body["dataset"] = dataset_level
    return facet(**body)


def test_column_lineage_transformations_are_stored_one_edge_each() -> None:
    fields = {
        "name": {
            "inputFields": [
                {
                    "namespace": "s3://bucket",
                    "name": "customers",
                    "field": "name",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}],
                },
                {
                    "namespace": "s3://bucket",
                    "name": "customers",
                    "field": "id",
                    "transformations": [{"type": "INDIRECT", "subtype": "JOIN", "description": "ON id"}],
                },
            ]
        },
        "email_hash": {
            "inputFields": [
                {
                    "namespace": "s3://bucket",
                    "name": "customers",
                    "field": "email",
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}],
                }
            ]
        },
    }
    out = dataset(name="report", columnLineage=column_facet(fields))

    ingest(run_event(inputs=[dataset(name="customers")], outputs=[out]))

    rows = set(
        ColumnLineageEdge.objects.values_list(
            "output_field", "input_field", "transformation_type", "subtype", "masking"
        )
    )
    assert rows == {
        ("name", "name", "DIRECT", "IDENTITY", False),
        ("name", "id", "INDIRECT", "JOIN", False),
        ("email_hash", "email", "DIRECT", "TRANSFORMATION", True),
    }
    assert set(ColumnLineageEdge.objects.values_list("job__name", flat=True)) == {"etl.load"}


def test_dataset_level_inputs_have_empty_fields_and_keep_the_named_column() -> None:
    level = [
        {
            "namespace": "s3://bucket",
            "name": "people",
            "field": "age",
            "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
        }
    ]
    out = dataset(name="adults", columnLineage=column_facet({}, level))

    ingest(run_event(inputs=[dataset(name="people")], outputs=[out]))

    edge = ColumnLineageEdge.objects.get()
    assert (edge.output_field, edge.input_field, edge.dataset_level_input_field) == ("", "", "age")
    assert (edge.transformation_type, edge.subtype) == ("INDIRECT", "FILTER")


def test_deprecated_transformation_type_maps_to_direct() -> None:
    fields = {
        "a": {
            "inputFields": [{"namespace": "s3://bucket", "name": "src", "field": "a"}],
            "transformationType": "IDENTITY",
            "transformationDescription": "identical",
        },
        "b": {
            "inputFields": [{"namespace": "s3://bucket", "name": "src", "field": "b"}],
            "transformationType": "MASKED",
        },
    }

    ingest(run_event(inputs=[dataset(name="src")], outputs=[dataset(name="dst", columnLineage=column_facet(fields))]))

    rows = set(
        ColumnLineageEdge.objects.values_list(
            "output_field", "transformation_type", "subtype", "description", "masking"
        )
    )
    assert rows == {("a", "DIRECT", "IDENTITY", "identical", False), ("b", "DIRECT", "TRANSFORMATION", "", True)}


def test_column_input_that_is_not_a_run_input_is_kept_and_its_dataset_created() -> None:
    fields = {"x": {"inputFields": [{"namespace": "kafka://broker:9092", "name": "topic.events", "field": "x"}]}}

    ingest(run_event(inputs=[], outputs=[dataset(name="dst", columnLineage=column_facet(fields))]))

    edge = ColumnLineageEdge.objects.select_related("input_dataset__namespace").get()
    assert (edge.input_dataset.namespace.name, edge.input_dataset.name) == ("kafka://broker:9092", "topic.events")


def test_new_column_lineage_facet_ends_edges_the_job_no_longer_reports() -> None:
    def out(*inputs: str) -> dict[str, Any]:
        fields = {"y": {"inputFields": [{"namespace": "s3://bucket", "name": "src", "field": f} for f in inputs]}}
        return dataset(name="dst", columnLineage=column_facet(fields))

    ingest(run_event(inputs=[], outputs=[out("a", "b")]))

    (second,) = ingest(run_event(inputs=[], outputs=[out("a")]))

    spans = dict(ColumnLineageEdge.objects.values_list("input_field", "valid_to_seq"))
    assert spans == {"a": None, "b": second}


# --- Batches ----------------------------------------------------------------------------------------


def _events(n: int) -> list[dict[str, Any]]:
    return [
        run_event(
            job=f"job{i % 7}",
            inputs=[dataset(name=f"in{i % 11}", schema=schema("id", f"c{i % 3}"))],
            outputs=[dataset(name=f"out{i % 5}")],
        )
        for i in range(n)
    ]


def _fold_queries(events: list[dict[str, Any]], start_seq: int) -> int:
    from lineage.validation import validate_event

    items = [
        FoldItem(seq=start_seq + i, kind="RunEvent", event=e, event_time=validate_event(e).event_time)
        for i, e in enumerate(events)
    ]
    with CaptureQueriesContext(connection) as queries:
        graph_fold(items)
    return len(queries)


def test_fold_query_count_does_not_grow_with_the_batch() -> None:
    _fold_queries(_events(80), 1)  # every job, dataset and edge of the batches below exists already

    small = _fold_queries(_events(5), 100)
    large = _fold_queries(_events(40), 200)  # sized to stay under SQLite's 999 parameters a statement

    assert large == small


def test_intake_transaction_records_a_checkpoint_for_as_of_timestamps() -> None:
    seqs = ingest(run_event(), run_event())

    checkpoint = GraphCheckpoint.objects.get()
    assert checkpoint.seq == seqs[-1]


def test_tags_facet_names_are_listed_as_tags() -> None:
    tags = facet(tags=[{"key": "pii", "value": "true"}, {"key": "tier", "value": "gold"}])

    ingest(run_event(inputs=[], outputs=[dataset(name="t", tags=tags)]))

    assert set(Tag.objects.values_list("name", flat=True)) == {"pii", "tier:gold"}
