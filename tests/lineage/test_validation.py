"""Tests of the OpenLineage event validator (lineage.validation): pure, no database, no Django."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage import validation
from lineage.validation import EventInvalid, Problem, Validated, validate_event
from tests.corpus import (
    COMPLETE_CLASSES,
    CORPUS,
    CORPUS_ABSENT,
    PROJECT_ROOT,
    complete_corpus_files,
    corpus_params,
    corpus_table,
    facet_example_files,
    invalid_corpus_files,
    load_events,
)

EVENT_KINDS = ("RunEvent", "DatasetEvent", "JobEvent")

RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/client/python"
FACET_BASE = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json"}

# The invalid events of the OpenLineage fluentd proxy, and the field each one gets wrong.
INVALID_CORPUS_PATHS = {
    "event_no_run_id.json": "run.runId",
    "event_invalid_run_facet.json": "run.facets.parent.run.runId",
    "event_invalid_dataset_facet.json": "outputs.0.facets.ownership.owners.0.name",
}


# --- Helpers --------------------------------------------------------------------------------------


def run_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-05-01T12:00:00.000Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "airflow", "name": "etl.load_orders"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
        "outputs": [{"namespace": "s3://lake", "name": "orders"}],
    }
    event.update(overrides)
    return event


def problems_of(event: object) -> tuple[Problem, ...]:
    with pytest.raises(EventInvalid) as caught:
        validate_event(event)
    return caught.value.problems


def paths_of(event: object) -> list[str]:
    return [p.path for p in problems_of(event)]


# --- Corpus conformance ---------------------------------------------------------------------------


def test_corpus_readme_lists_complete_events() -> None:
    if not (CORPUS / "README.md").is_file():
        pytest.skip(CORPUS_ABSENT)

    complete = [row for row in corpus_table() if row[1] in COMPLETE_CLASSES]

    assert len(complete) >= 40


@pytest.mark.parametrize("entry", corpus_params(complete_corpus_files))
def test_every_complete_corpus_event_validates_as_the_kind_the_readme_names(
    entry: tuple[str, dict[str, int]],
) -> None:
    file, expected_kinds = entry

    results = [validate_event(event) for event in load_events(CORPUS / file)]

    kinds: dict[str, int] = {}
    for result in results:
        kinds[result.kind] = kinds.get(result.kind, 0) + 1
    assert kinds == expected_kinds
    assert all(r.event_time.tzinfo is UTC for r in results)


@pytest.mark.parametrize("name", corpus_params(invalid_corpus_files))
def test_every_invalid_corpus_event_is_rejected_naming_the_wrong_field(name: str) -> None:
    (event,) = load_events(CORPUS / "spec" / "proxy-fluentd" / "invalid" / name)

    problems = problems_of(event)

    assert problems
    if name in INVALID_CORPUS_PATHS:
        assert Problem(INVALID_CORPUS_PATHS[name], "required") in problems


@pytest.mark.parametrize("example", corpus_params(facet_example_files))
def test_every_spec_facet_example_validates_in_its_facet_container(example: str) -> None:
    facet_type = example.split("/")[0]
    facets = json.loads((CORPUS / "spec" / "facet-examples" / example).read_text(encoding="utf-8"))
    event = run_event()
    if facet_type.endswith("RunFacet"):
        event["run"]["facets"] = facets
    elif facet_type.endswith("JobFacet") or example.endswith("job-to-job.json"):
        event["job"]["facets"] = facets
    elif facet_type == "DataQualityAssertionsDatasetFacet":
        event["inputs"][0]["inputFacets"] = facets
    else:
        event["outputs"][0]["facets"] = facets

    result = validate_event(event)

    assert result.kind == "RunEvent"


def test_corpus_event_without_timezone_is_read_as_utc_with_a_warning() -> None:
    path = CORPUS / "marquez" / "open_lineage" / "event_required_no_timezone.json"
    if not path.is_file():
        pytest.skip(CORPUS_ABSENT)

    result = validate_event(load_events(path)[0])

    assert result.event_time == datetime(2020, 12, 28, 19, 51, 1, 641499, tzinfo=UTC)
    assert any("no UTC offset" in w for w in result.warnings)


def test_corpus_event_without_schema_url_is_accepted_with_a_warning() -> None:
    path = CORPUS / "marquez" / "open_lineage" / "event_without_schema_url.json"
    if not path.is_file():
        pytest.skip(CORPUS_ABSENT)

    result = validate_event(load_events(path)[0])

    assert "schemaURL is missing" in result.warnings


# --- What is accepted -----------------------------------------------------------------------------


def test_a_minimal_run_event_validates_without_warnings() -> None:
    event = run_event()

    result = validate_event(event)

    assert result == Validated(kind="RunEvent", event_time=datetime(2024, 5, 1, 12, tzinfo=UTC), warnings=())


def test_a_spec_1_run_event_without_event_type_validates() -> None:
    event = run_event(schemaURL="https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent")
    del event["eventType"]

    result = validate_event(event)

    assert result.kind == "RunEvent"


def test_a_dataset_event_is_recognised_by_its_dataset() -> None:
    event = {
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "s3://lake",
            "name": "orders",
            "facets": {"schema": {**FACET_BASE, "fields": []}},
        },
    }

    result = validate_event(event)

    assert result.kind == "DatasetEvent"


def test_a_job_event_is_recognised_by_a_job_without_a_run() -> None:
    event = run_event()
    del event["run"], event["eventType"]

    result = validate_event(event)

    assert result.kind == "JobEvent"


def test_an_event_with_both_run_and_dataset_is_a_run_event() -> None:
    event = run_event(dataset={"namespace": "s3://lake", "name": "orders"})

    result = validate_event(event)

    assert result.kind == "RunEvent"


def test_an_event_time_with_an_offset_is_converted_to_utc() -> None:
    event = run_event(eventTime="2020-12-28T19:52:00.001+10:00")

    result = validate_event(event)

    assert result.event_time == datetime(2020, 12, 28, 9, 52, 0, 1000, tzinfo=UTC)
    assert result.event_time.utcoffset() == timedelta(0)


def test_an_unknown_custom_facet_is_accepted_verbatim() -> None:
    custom = {**FACET_BASE, "anything": [1, {"nested": None}], "count": 3.5}
    event = run_event(run={"runId": RUN_ID, "facets": {"spark_properties": custom}})

    result = validate_event(event)

    assert result.warnings == ()


def test_a_deleted_facet_needs_none_of_its_fields() -> None:
    event = run_event(job={"namespace": "a", "name": "b", "facets": {"sql": {**FACET_BASE, "_deleted": True}}})

    result = validate_event(event)

    assert result.kind == "RunEvent"


def test_a_parent_facet_with_a_root_validates() -> None:
    parent = {
        **FACET_BASE,
        "run": {"runId": "01908eb2-1b8b-7a9c-9b2e-3f4a5b6c7d8e"},
        "job": {"namespace": "airflow", "name": "dag.task"},
        "root": {"run": {"runId": RUN_ID}, "job": {"namespace": "airflow", "name": "dag"}},
    }
    event = run_event(run={"runId": RUN_ID, "facets": {"parent": parent}})

    result = validate_event(event)

    assert result.kind == "RunEvent"


def test_column_lineage_with_transformations_and_the_deprecated_fields_validates() -> None:
    field = {"namespace": "pg", "name": "public.orders", "field": "id"}
    direct = {"type": "DIRECT", "subtype": "IDENTITY", "description": "copy", "masking": False}
    lineage = {
        **FACET_BASE,
        "fields": {
            "order_id": {
                "inputFields": [{**field, "transformations": [direct]}],
                "transformationType": "IDENTITY",
                "transformationDescription": "identical",
            }
        },
        "dataset": [{**field, "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}],
    }
    event = run_event(outputs=[{"namespace": "s3://lake", "name": "orders", "facets": {"columnLineage": lineage}}])

    result = validate_event(event)

    assert result.warnings == ()


# --- Leniency: accepted, with a warning -----------------------------------------------------------


def test_an_event_time_without_offset_is_read_as_utc_with_a_warning() -> None:
    event = run_event(eventTime="2024-05-01T12:00:00.5")

    result = validate_event(event)

    assert result.event_time == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert result.warnings == ("eventTime has no UTC offset; read as UTC",)


def test_an_event_time_with_nanoseconds_is_truncated_with_a_warning() -> None:
    event = run_event(eventTime="2024-05-01T12:00:00.123456789Z")

    result = validate_event(event)

    assert result.event_time == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert result.warnings == ("eventTime has more than microsecond precision; truncated to microseconds",)


def test_a_missing_schema_url_is_accepted_with_a_warning() -> None:
    event = run_event()
    del event["schemaURL"]

    result = validate_event(event)

    assert result.warnings == ("schemaURL is missing",)


def test_a_producer_that_is_not_a_uri_is_accepted_with_a_warning() -> None:
    event = run_event(producer="my pipeline")

    result = validate_event(event)

    assert result.warnings == ("producer is not a URI: 'my pipeline'",)


def test_a_facet_without_producer_and_schema_url_is_accepted_with_a_warning() -> None:
    event = run_event(job={"namespace": "a", "name": "b", "facets": {"sql": {"query": "SELECT 1"}}})

    result = validate_event(event)

    assert result.warnings == ("job.facets.sql: facet has no _producer or _schemaURL",)


def test_facet_warnings_are_capped_with_a_count_of_the_rest() -> None:
    facets = {f"custom_{i:02}": {"value": i} for i in range(25)}
    event = run_event(run={"runId": RUN_ID, "facets": facets})

    result = validate_event(event)

    assert len(result.warnings) == 21
    assert result.warnings[-1] == "and 5 more facets without _producer/_schemaURL"


# --- What is rejected -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, [], "event", 42, True])
def test_an_event_that_is_not_an_object_is_rejected(value: object) -> None:
    problems = problems_of(value)

    assert problems == (Problem("", "expected object"),)


@pytest.mark.parametrize("depth", [100, 50_000])
def test_a_deeply_nested_schema_is_refused_without_crashing(depth: int) -> None:
    # Nested schema fields are walked by the validators (unlike a custom facet's content); a
    # compiled validator given 50,000 levels overflows its stack and takes the process with it.
    field: dict[str, Any] = {"name": "leaf"}
    for level in range(depth):
        field = {"name": f"level_{level}", "fields": [field]}
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [field],
    }
    event = run_event(inputs=[{"namespace": "db", "name": "t", "facets": {"schema": schema}}])

    try:
        result: Validated | EventInvalid = validate_event(event)
    except EventInvalid as exc:
        result = exc

    if depth == 100:  # 200 JSON levels: within what orjson writes, so the fast path judges it
        assert isinstance(result, Validated)
    else:
        assert isinstance(result, EventInvalid)
        assert result.problems == (Problem("", "nested too deeply"),)


def test_an_integer_beyond_64_bits_in_a_custom_facet_is_judged_by_the_full_validator() -> None:
    event = run_event(
        run={"runId": RUN_ID, "facets": {"custom": {"_producer": PRODUCER, "_schemaURL": PRODUCER, "n": 10**30}}}
    )

    assert isinstance(validate_event(event), Validated)


def test_a_wrong_type_beyond_64_bits_is_reported_with_its_path() -> None:
    event = run_event(eventTime=10**30)

    assert problems_of(event) == (Problem("eventTime", "expected string"),)


def test_missing_run_id_is_reported_with_its_path() -> None:
    event = run_event(run={})

    problems = problems_of(event)

    assert problems == (Problem("run.runId", "required"),)


def test_a_run_id_that_is_not_a_uuid_is_reported() -> None:
    event = run_event(run={"runId": "run-42"})

    (problem,) = problems_of(event)

    assert problem.path == "run.runId"
    assert "not a valid UUID" in problem.message


def test_missing_job_namespace_and_name_are_both_reported() -> None:
    event = run_event(job={})

    problems = problems_of(event)

    assert problems == (Problem("job.name", "required"), Problem("job.namespace", "required"))


def test_a_missing_event_time_is_reported() -> None:
    event = run_event()
    del event["eventTime"]

    problems = problems_of(event)

    assert problems == (Problem("eventTime", "required"),)


@pytest.mark.parametrize(
    "event_time",
    ["yesterday", "2024-13-01T00:00:00Z", "2024-05-01", "2024-05-01T25:00:00Z", "2024-05-01T12:00Z"],
)
def test_an_unparseable_event_time_is_reported(event_time: str) -> None:
    event = run_event(eventTime=event_time)

    (problem,) = problems_of(event)

    assert problem.path == "eventTime"
    assert "not a valid date-time" in problem.message


def test_an_event_type_outside_the_enum_is_reported_with_the_allowed_values() -> None:
    event = run_event(eventType="BEGIN")

    problems = problems_of(event)

    assert problems == (Problem("eventType", "must be one of: START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"),)


def test_inputs_that_are_not_an_array_are_reported() -> None:
    event = run_event(inputs={"namespace": "a", "name": "b"})

    problems = problems_of(event)

    assert problems == (Problem("inputs", "expected array"),)


def test_a_facet_that_is_not_an_object_is_reported() -> None:
    event = run_event(run={"runId": RUN_ID, "facets": {"custom": "not an object"}})

    problems = problems_of(event)

    assert problems == (Problem("run.facets.custom", "expected object"),)


def test_a_dataset_missing_its_namespace_is_reported_with_its_index() -> None:
    event = run_event(inputs=[{"namespace": "a", "name": "b"}, {"name": "c"}])

    problems = problems_of(event)

    assert problems == (Problem("inputs.1.namespace", "required"),)


def test_a_known_facet_with_a_wrong_field_type_is_reported() -> None:
    fields = [{"name": "id"}, {"name": "amount", "type": "DECIMAL"}, {"name": 3}]
    event = run_event(inputs=[{"namespace": "a", "name": "b", "facets": {"schema": {**FACET_BASE, "fields": fields}}}])

    problems = problems_of(event)

    assert problems == (Problem("inputs.0.facets.schema.fields.2.name", "expected string"),)


def test_nested_schema_fields_are_checked() -> None:
    fields = [{"name": "address", "type": "STRUCT", "fields": [{"type": "STRING"}]}]
    event = run_event(outputs=[{"namespace": "a", "name": "b", "facets": {"schema": {**FACET_BASE, "fields": fields}}}])

    problems = problems_of(event)

    assert problems == (Problem("outputs.0.facets.schema.fields.0.fields.0.name", "required"),)


def test_a_parent_run_id_that_is_not_a_uuid_is_reported() -> None:
    parent = {**FACET_BASE, "run": {"runId": "nope"}, "job": {"namespace": "a", "name": "b"}}
    event = run_event(run={"runId": RUN_ID, "facets": {"parent": parent}})

    (problem,) = problems_of(event)

    assert problem.path == "run.facets.parent.run.runId"
    assert "UUID" in problem.message


def test_a_column_lineage_transformation_without_type_is_reported() -> None:
    field = {"namespace": "pg", "name": "t", "field": "id", "transformations": [{"subtype": "IDENTITY"}]}
    lineage = {**FACET_BASE, "fields": {"id": {"inputFields": [field]}}}
    event = run_event(outputs=[{"namespace": "a", "name": "b", "facets": {"columnLineage": lineage}}])

    problems = problems_of(event)

    assert problems == (
        Problem("outputs.0.facets.columnLineage.fields.id.inputFields.0.transformations.0.type", "required"),
    )


def test_a_facet_producer_of_the_wrong_type_is_reported() -> None:
    event = run_event(run={"runId": RUN_ID, "facets": {"custom": {"_producer": 7}}})

    problems = problems_of(event)

    assert problems == (Problem("run.facets.custom._producer", "expected string"),)


def test_all_problems_are_reported_sorted_by_path() -> None:
    event = run_event(
        eventType="BEGIN",
        run={"runId": "x"},
        job={"namespace": "a"},
        inputs=[{"namespace": "a", "name": str(i)} if i not in (2, 10) else {"name": "c"} for i in range(11)],
    )

    problems = problems_of(event)

    assert [p.path for p in problems] == [
        "eventType",
        "inputs.2.namespace",
        "inputs.10.namespace",
        "job.name",
        "run.runId",
    ]


def test_the_exception_message_summarises_the_problems() -> None:
    event = run_event(run={}, job={})

    with pytest.raises(EventInvalid) as caught:
        validate_event(event)

    assert str(caught.value) == (
        "invalid OpenLineage event (3 problems): job.name: required; job.namespace: required; run.runId: required"
    )


# --- Design constraints ---------------------------------------------------------------------------


def test_the_happy_path_does_not_use_the_slow_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("the slow validator ran for a valid event")

    monkeypatch.setattr(validation, "_full_validator", refuse)

    result = validate_event(run_event())

    assert result.kind == "RunEvent"


def test_the_validator_module_imports_without_django() -> None:
    code = "import sys, lineage.validation; sys.exit(1 if 'django' in sys.modules else 0)"

    completed = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=False)

    assert completed.returncode == 0, completed.stderr.decode()


def test_the_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(validation.SCHEMA_PATH.read_text(encoding="utf-8"))

    Draft202012Validator.check_schema(schema)


# --- Properties -----------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
names = st.text(min_size=1, max_size=12)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=10)), timezone(timedelta(hours=-5, minutes=-30))])
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets)


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, datetime]:
    moment = draw(moments)
    text = moment.isoformat()
    if draw(st.booleans()):
        text = text.replace("+00:00", "Z")
    return text, moment


def facet(**fields: Any) -> dict[str, Any]:
    return {**FACET_BASE, **fields}


schema_fields = st.recursive(
    st.fixed_dictionaries({"name": names}, optional={"type": names, "description": names}),
    lambda children: st.fixed_dictionaries(
        {"name": names}, optional={"type": names, "fields": st.lists(children, max_size=3)}
    ),
    max_leaves=6,
)
input_fields = st.fixed_dictionaries(
    {"namespace": names, "name": names, "field": names},
    optional={
        "transformations": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["DIRECT", "INDIRECT"])},
                optional={"subtype": names, "description": names, "masking": st.booleans()},
            ),
            max_size=2,
        )
    },
)
custom_facets = st.dictionaries(
    names.map(lambda n: "x_" + n),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(lambda fields: {**fields, **FACET_BASE}),
    max_size=2,
)
run_facets = st.fixed_dictionaries(
    {},
    optional={
        "parent": st.builds(
            lambda run_id, ns, name: facet(run={"runId": run_id}, job={"namespace": ns, "name": name}),
            st.uuids().map(str),
            names,
            names,
        ),
        "nominalTime": timestamps().map(lambda t: facet(nominalStartTime=t[0])),
    },
).flatmap(lambda known: custom_facets.map(lambda custom: {**custom, **known}))
job_facets = st.fixed_dictionaries(
    {},
    optional={
        "sql": names.map(lambda q: facet(query=q)),
        "documentation": names.map(lambda d: facet(description=d)),
        "ownership": st.lists(st.fixed_dictionaries({"name": names}), max_size=2).map(lambda o: facet(owners=o)),
    },
)
dataset_facets = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.lists(schema_fields, max_size=3).map(lambda f: facet(fields=f)),
        "columnLineage": st.dictionaries(
            names, st.lists(input_fields, max_size=2).map(lambda i: {"inputFields": i}), max_size=2
        ).map(lambda f: facet(fields=f)),
    },
)
datasets = st.fixed_dictionaries({"namespace": names, "name": names}, optional={"facets": dataset_facets})


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[dict[str, Any], str, datetime]:
    """A valid event of any kind, with the kind and event time the validator should report."""
    when_text, when = draw(timestamps())
    kind = draw(st.sampled_from(EVENT_KINDS))
    event: dict[str, Any] = {
        "eventTime": when_text,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/s",
    }
    if kind == "DatasetEvent":
        event["dataset"] = draw(datasets)
        return event, kind, when
    event["job"] = draw(st.fixed_dictionaries({"namespace": names, "name": names}, optional={"facets": job_facets}))
    event["inputs"] = draw(st.lists(datasets, max_size=2))
    event["outputs"] = draw(st.lists(datasets, max_size=2))
    if kind == "RunEvent":
        event["run"] = draw(st.fixed_dictionaries({"runId": st.uuids().map(str)}, optional={"facets": run_facets}))
        if draw(st.booleans()):
            event["eventType"] = draw(st.sampled_from(["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]))
    return event, kind, when


def required_paths(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of the required keys in a generated event whose removal must be reported at that path.

    ``run`` and ``dataset`` are left out: they decide the event's kind, so an event without
    ``run`` is judged as a JobEvent (valid) and one without ``dataset`` as a RunEvent.
    """
    paths: list[tuple[Any, ...]] = [("eventTime",), ("producer",)]
    if "dataset" in event:
        paths += [("dataset", "namespace"), ("dataset", "name")]
        paths += dataset_required(("dataset",), event["dataset"])
        return paths
    paths += [("job",), ("job", "namespace"), ("job", "name")]
    for name in ("sql", "documentation"):
        if name in event["job"].get("facets", {}):
            paths.append(("job", "facets", name, "query" if name == "sql" else "description"))
    for i, _owner in enumerate(event["job"].get("facets", {}).get("ownership", {}).get("owners", [])):
        paths.append(("job", "facets", "ownership", "owners", i, "name"))
    for key in ("inputs", "outputs"):
        for i, dataset in enumerate(event[key]):
            paths += [(key, i, "namespace"), (key, i, "name"), *dataset_required((key, i), dataset)]
    if "run" in event:
        paths.append(("run", "runId"))
        run_facets_ = event["run"].get("facets", {})
        if "parent" in run_facets_:
            base = ("run", "facets", "parent")
            paths += [(*base, "run"), (*base, "job"), (*base, "run", "runId")]
            paths += [(*base, "job", "namespace"), (*base, "job", "name")]
        if "nominalTime" in run_facets_:
            paths.append(("run", "facets", "nominalTime", "nominalStartTime"))
    return paths


def dataset_required(prefix: tuple[Any, ...], dataset: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    facets = dataset.get("facets", {})

    def walk_fields(base: tuple[Any, ...], fields: list[dict[str, Any]]) -> None:
        for i, field in enumerate(fields):
            paths.append((*base, i, "name"))
            walk_fields((*base, i, "fields"), field.get("fields", []))

    if "schema" in facets:
        walk_fields((*prefix, "facets", "schema", "fields"), facets["schema"]["fields"])
    if "columnLineage" in facets:
        base = (*prefix, "facets", "columnLineage", "fields")
        paths.append(base)
        for column, entry in facets["columnLineage"]["fields"].items():
            paths.append((*base, column, "inputFields"))
            for i, input_field in enumerate(entry["inputFields"]):
                paths += [(*base, column, "inputFields", i, key) for key in ("namespace", "name", "field")]
                for j, _t in enumerate(input_field.get("transformations", [])):
                    paths.append((*base, column, "inputFields", i, "transformations", j, "type"))
    return paths


def node_at(event: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        event = event[part]
    return event


def all_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from all_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from all_paths(child, (*prefix, index))


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(valid_events())
@PROPERTY_SETTINGS
def test_any_generated_valid_event_validates_with_its_kind_and_utc_time(
    generated: tuple[dict[str, Any], str, datetime],
) -> None:
    event, kind, when = generated

    result = validate_event(event)

    assert result.kind == kind
    assert result.event_time == when
    assert result.event_time.tzinfo is UTC
    assert result.warnings == ()


@given(valid_events(), st.data())
@PROPERTY_SETTINGS
def test_removing_any_required_key_yields_a_problem_naming_it(
    generated: tuple[dict[str, Any], str, datetime], data: st.DataObject
) -> None:
    event, _kind, _when = generated
    path = data.draw(st.sampled_from(required_paths(event)))
    broken = copy.deepcopy(event)
    del node_at(broken, path[:-1])[path[-1]]

    problems = problems_of(broken)

    assert Problem(".".join(str(p) for p in path), "required") in problems


@given(json_values)
@PROPERTY_SETTINGS
def test_arbitrary_json_values_raise_nothing_but_event_invalid(value: object) -> None:
    problems: tuple[Problem, ...] = ()
    try:
        result = validate_event(value)
    except EventInvalid as exc:
        problems = exc.problems
    else:
        assert isinstance(result, Validated)
        return

    assert problems
    assert all(isinstance(p.path, str) and p.message for p in problems)


@given(valid_events(), st.data(), json_values)
@PROPERTY_SETTINGS
def test_replacing_any_part_of_an_event_is_judged_the_same_by_both_validators(
    generated: tuple[dict[str, Any], str, datetime], data: st.DataObject, replacement: object
) -> None:
    event, _kind, _when = generated
    path = data.draw(st.sampled_from([p for p in all_paths(event) if p]))
    mutated = copy.deepcopy(event)
    node_at(mutated, path[:-1])[path[-1]] = replacement

    try:
        result: Validated | EventInvalid = validate_event(mutated)
    except EventInvalid as exc:
        result = exc

    # The fast path (jsonschema-rs) accepts exactly what the full validator (jsonschema) accepts.
    slow_errors = list(validation._full_validator().iter_errors(mutated))
    assert isinstance(result, Validated) == (not slow_errors)
