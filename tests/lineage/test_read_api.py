"""The read API: reference-server paths and shapes, Tracemark's graph endpoints, access and query counts."""

from __future__ import annotations

import functools
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import jsonschema_rs
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from lineage.models import DatasetVersion, LedgerHead, Run
from lineage.openapi import PYTHON_WHITESPACE
from lineage.services import events_ingest
from tests.factories import PRODUCER, dataset, later, run_event

pytestmark = pytest.mark.django_db

PG = "postgres://db.internal:5432"
S3 = "s3://lake"


def enc(name: str) -> str:
    return quote(name, safe="")


@pytest.fixture
def staff() -> APIClient:
    # Signed in by force_login: no password to hash (the production hasher is slow on purpose).
    user = get_user_model().objects.create_user("reader", is_staff=True)
    client = APIClient()
    client.force_login(user)
    return client


def schema(*names: str) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": n, "type": "STRING", "description": f"the {n}"} for n in names],
    }


def column_lineage(out: str, src: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            out: {
                "inputFields": [
                    {
                        "namespace": src[0],
                        "name": src[1],
                        "field": src[2],
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}],
                    }
                ]
            }
        },
    }


RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


@pytest.fixture
def catalog() -> None:
    """PG table -> ingest job -> S3 features -> train job -> model."""
    docs = {"_producer": PRODUCER, "_schemaURL": "https://x/Doc.json", "description": "Customer records"}
    events_ingest(
        events=[
            run_event(
                event_type="START",
                run_id=RUN_ID,
                job="ingest.customers",
                when=later(0),
                inputs=[dataset(PG, "public.customers", schema=schema("id", "email"), documentation=docs)],
                outputs=[],
            ),
            run_event(
                event_type="COMPLETE",
                run_id=RUN_ID,
                job="ingest.customers",
                when=later(5),
                inputs=[],
                outputs=[
                    dataset(
                        S3,
                        "features/customers",
                        schema=schema("id", "email"),
                        columnLineage=column_lineage("email", (PG, "public.customers", "email")),
                    )
                ],
            ),
            run_event(
                job="train",
                when=later(10),
                inputs=[dataset(S3, "features/customers")],
                outputs=[dataset("mlflow://models", "churn/1")],
            ),
        ]
    )


# --- Access ------------------------------------------------------------------------------------------


def test_anonymous_reader_is_refused() -> None:
    response = APIClient().get("/api/v1/namespaces")

    assert response.status_code in (401, 403)
    assert response.json()["message"]


def test_producer_api_key_cannot_read_the_catalog(producer: APIClient) -> None:
    response = producer.get("/api/v1/namespaces")

    assert response.status_code == 403


def test_producer_api_key_cannot_read_the_lineage_graph(producer: APIClient, catalog: None) -> None:
    response = producer.get("/api/v1/lineage", {"nodeId": f"dataset:{S3}:features/customers"})

    assert response.status_code == 403


def test_staff_session_cannot_post_events(staff: APIClient) -> None:
    response = staff.post("/api/v1/lineage", run_event(), format="json")

    assert response.status_code in (401, 403)


def test_producer_still_posts_events_to_the_same_url(producer: APIClient) -> None:
    response = producer.post("/api/v1/lineage", run_event(), format="json")

    assert response.status_code == 201


# --- Namespaces, datasets, jobs, runs ----------------------------------------------------------------------


def test_namespaces_are_listed(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/namespaces").json()

    names = [n["name"] for n in body["namespaces"]]
    assert names == sorted(["airflow://eu", "mlflow://models", PG, S3])
    assert set(body["namespaces"][0]) >= {"name", "createdAt", "updatedAt", "ownerName", "description"}


def test_namespace_with_colons_and_slashes_is_found_url_encoded(staff: APIClient, catalog: None) -> None:
    response = staff.get(f"/api/v1/namespaces/{enc(PG)}")

    assert response.status_code == 200
    assert response.json()["name"] == PG


def test_unknown_namespace_is_404(staff: APIClient, catalog: None) -> None:
    response = staff.get("/api/v1/namespaces/nowhere")

    assert response.status_code == 404
    assert "not found" in response.json()["message"].lower()


def test_datasets_of_a_namespace_are_listed_with_a_total(staff: APIClient, catalog: None) -> None:
    body = staff.get(f"/api/v1/namespaces/{enc(S3)}/datasets").json()

    assert body["totalCount"] == 1
    (only,) = body["datasets"]
    assert only["id"] == {"namespace": S3, "name": "features/customers"}


def test_dataset_with_a_slash_in_its_name_shows_fields_and_version(staff: APIClient, catalog: None) -> None:
    response = staff.get(f"/api/v1/namespaces/{enc(S3)}/datasets/{enc('features/customers')}")

    body = response.json()
    assert response.status_code == 200
    assert [f["name"] for f in body["fields"]] == ["id", "email"]
    assert body["type"] == "DB_TABLE"
    assert uuid.UUID(body["currentVersion"])
    assert body["lastModifiedAt"] is not None


def test_dataset_description_comes_from_the_documentation_facet(staff: APIClient, catalog: None) -> None:
    body = staff.get(f"/api/v1/namespaces/{enc(PG)}/datasets/public.customers").json()

    assert body["description"] == "Customer records"


def test_dataset_named_like_a_sub_resource_resolves_to_itself(staff: APIClient) -> None:
    events_ingest(events=[run_event(inputs=[dataset(S3, "x/versions")], outputs=[])])

    body = staff.get(f"/api/v1/namespaces/{enc(S3)}/datasets/x/versions").json()

    assert body["name"] == "x/versions"


def test_dataset_versions_are_listed_newest_first_and_fetched_by_id(staff: APIClient) -> None:
    events_ingest(events=[run_event(inputs=[], outputs=[dataset(S3, "t", schema=schema("a"))])])
    events_ingest(events=[run_event(inputs=[], outputs=[dataset(S3, "t", schema=schema("a", "b"))])])
    base = f"/api/v1/namespaces/{enc(S3)}/datasets/t/versions"

    listing = staff.get(base).json()
    newest = listing["versions"][0]
    one = staff.get(f"{base}/{newest['version']}").json()

    assert listing["totalCount"] == 2
    assert [f["name"] for f in newest["fields"]] == ["a", "b"]
    assert one["createdByRun"]["state"] == "COMPLETED"
    assert one["validToSeq"] is None


def test_jobs_are_listed_with_their_latest_run(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/namespaces/airflow%3A%2F%2Feu/jobs").json()

    jobs = {j["name"]: j for j in body["jobs"]}
    assert body["totalCount"] == 2
    assert jobs["ingest.customers"]["latestRun"]["id"] == RUN_ID
    assert jobs["ingest.customers"]["outputs"] == [{"namespace": S3, "name": "features/customers"}]
    assert jobs["ingest.customers"]["simpleName"] == "customers"


def test_job_runs_and_versions_are_listed(staff: APIClient, catalog: None) -> None:
    base = "/api/v1/namespaces/airflow%3A%2F%2Feu/jobs/ingest.customers"

    runs = staff.get(f"{base}/runs").json()
    versions = staff.get(f"{base}/versions").json()

    assert [r["id"] for r in runs["runs"]] == [RUN_ID]
    assert versions["totalCount"] >= 1
    version = staff.get(f"{base}/versions/{versions['versions'][0]['version']}").json()
    assert version["inputs"] == [{"namespace": PG, "name": "public.customers"}]


def test_run_shows_state_duration_and_dataset_versions(staff: APIClient, catalog: None) -> None:
    body = staff.get(f"/api/v1/jobs/runs/{RUN_ID}").json()

    assert body["state"] == "COMPLETED"
    assert body["durationMs"] == 5 * 60 * 1000
    assert [v["datasetVersionId"]["name"] for v in body["outputDatasetVersions"]] == ["features/customers"]
    assert body["jobVersion"]["name"] == "ingest.customers"


def test_run_facets_of_the_run_and_of_its_job(staff: APIClient) -> None:
    run_id = str(uuid.uuid4())
    facet = {"_producer": PRODUCER, "_schemaURL": "https://x/F.json", "v": 1}
    events_ingest(
        events=[
            run_event(run_id=run_id, run_facets={"nominalTime": {**facet, "nominalStartTime": later(0).isoformat()}})
        ]
    )

    run_facets = staff.get(f"/api/v1/jobs/runs/{run_id}/facets", {"type": "run"}).json()
    job_facets = staff.get(f"/api/v1/jobs/runs/{run_id}/facets", {"type": "job"}).json()

    assert run_facets["runId"] == run_id
    assert "nominalTime" in run_facets["facets"]
    assert job_facets["facets"] == {}


def test_unknown_run_is_404(staff: APIClient) -> None:
    assert staff.get(f"/api/v1/jobs/runs/{uuid.uuid4()}").status_code == 404


# --- Lineage (reference shape) ---------------------------------------------------------------------------------


def test_lineage_graph_has_the_reference_server_shape(staff: APIClient, catalog: None) -> None:
    response = staff.get("/api/v1/lineage", {"nodeId": f"dataset:{S3}:features/customers", "depth": 2})

    graph = {n["id"]: n for n in response.json()["graph"]}
    assert response.status_code == 200
    assert set(graph) == {
        f"dataset:{PG}:public.customers",
        "job:airflow://eu:ingest.customers",
        f"dataset:{S3}:features/customers",
        "job:airflow://eu:train",
        "dataset:mlflow://models:churn/1",
    }
    node = graph[f"dataset:{S3}:features/customers"]
    assert node["type"] == "DATASET"
    assert node["inEdges"] == [{"origin": "job:airflow://eu:ingest.customers", "destination": node["id"]}]
    assert node["outEdges"] == [{"origin": node["id"], "destination": "job:airflow://eu:train"}]
    assert graph["job:airflow://eu:train"]["data"]["latestRun"]["state"] == "COMPLETED"


def test_lineage_of_an_unknown_node_is_404(staff: APIClient, catalog: None) -> None:
    response = staff.get("/api/v1/lineage", {"nodeId": "dataset:s3://nowhere:x"})

    assert response.status_code == 404


def test_lineage_with_a_malformed_node_id_is_400_naming_the_parameter(staff: APIClient) -> None:
    response = staff.get("/api/v1/lineage", {"nodeId": "table:x"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "nodeId"


def test_lineage_without_a_node_id_is_400(staff: APIClient) -> None:
    response = staff.get("/api/v1/lineage")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "nodeId"


def test_lineage_as_of_a_sequence_uses_the_versions_valid_then(staff: APIClient) -> None:
    events_ingest(events=[run_event(inputs=[], outputs=[dataset(S3, "t", schema=schema("a"))])])
    first = LedgerHead.objects.get().seq
    events_ingest(events=[run_event(inputs=[], outputs=[dataset(S3, "t", schema=schema("a", "b"))])])

    body = staff.get("/api/v1/lineage", {"nodeId": f"dataset:{S3}:t", "depth": 1, "asOfSeq": first}).json()

    node = next(n for n in body["graph"] if n["id"] == f"dataset:{S3}:t")
    assert [f["name"] for f in node["data"]["fields"]] == ["a"]


def test_column_lineage_has_the_reference_server_shape(staff: APIClient, catalog: None) -> None:
    response = staff.get("/api/v1/column-lineage", {"nodeId": f"datasetField:{S3}:features/customers:email"})

    graph = {n["id"]: n for n in response.json()["graph"]}
    node = graph[f"datasetField:{S3}:features/customers:email"]
    assert node["type"] == "DATASET_FIELD"
    assert node["data"]["fieldType"] == "STRING"
    (source,) = node["data"]["inputFields"]
    assert (source["dataset"], source["field"], source["transformationType"]) == (
        "public.customers",
        "email",
        "IDENTITY",
    )
    assert node["inEdges"] == [{"origin": f"datasetField:{PG}:public.customers:email", "destination": node["id"]}]


def test_column_lineage_downstream_when_asked(staff: APIClient, catalog: None) -> None:
    start = f"datasetField:{PG}:public.customers:email"

    alone = staff.get("/api/v1/column-lineage", {"nodeId": start}).json()
    down = staff.get("/api/v1/column-lineage", {"nodeId": start, "withDownstream": "true"}).json()

    assert [n["id"] for n in alone["graph"]] == [start]
    assert f"datasetField:{S3}:features/customers:email" in {n["id"] for n in down["graph"]}


def test_column_lineage_of_a_version_with_downstream_is_400(staff: APIClient, catalog: None) -> None:
    version = DatasetVersion.objects.filter(dataset__name="features/customers").first()

    response = staff.get(
        "/api/v1/column-lineage",
        {"nodeId": f"dataset:{S3}:features/customers#{version.version}", "withDownstream": "true"},
    )

    assert response.status_code == 400


# --- Search, tags, events ----------------------------------------------------------------------------------------


def test_search_finds_datasets_and_jobs_by_name(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/search", {"q": "customers"}).json()

    assert {(r["type"], r["name"]) for r in body["results"]} == {
        ("DATASET", "public.customers"),
        ("DATASET", "features/customers"),
        ("JOB", "ingest.customers"),
    }
    assert body["totalCount"] == 3
    assert body["results"][0]["nodeId"].startswith(("dataset:", "job:"))


def test_search_understands_wildcards_and_filters(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/search", {"q": "feat%cust", "filter": "dataset"}).json()

    assert [r["name"] for r in body["results"]] == ["features/customers"]


def test_tags_from_tags_facets_are_listed(staff: APIClient) -> None:
    tags = {"_producer": PRODUCER, "_schemaURL": "https://x/T.json", "tags": [{"key": "pii", "value": "true"}]}
    events_ingest(events=[run_event(inputs=[dataset(S3, "t", tags=tags)], outputs=[])])

    body = staff.get("/api/v1/tags").json()

    assert body["tags"] == [{"name": "pii", "description": None}]


def test_lineage_events_are_listed_from_the_ledger_by_event_time(staff: APIClient) -> None:
    events = [run_event(when=later(m), job=f"j{m}") for m in (30, 10, 20)]
    events_ingest(events=events)

    body = staff.get("/api/v1/events/lineage", {"sortDirection": "asc", "after": later(15).isoformat()}).json()

    assert [e["job"]["name"] for e in body["events"]] == ["j20", "j30"]
    assert body["totalCount"] == 2


def test_lineage_events_page_with_limit_and_offset(staff: APIClient) -> None:
    events_ingest(events=[run_event(when=later(m), job=f"j{m}") for m in range(5)])

    body = staff.get("/api/v1/events/lineage", {"limit": 2, "offset": 1}).json()

    assert [e["job"]["name"] for e in body["events"]] == ["j3", "j2"]
    assert body["totalCount"] == 5


def test_negative_limit_is_400(staff: APIClient) -> None:
    response = staff.get("/api/v1/namespaces", {"limit": -1})

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "limit"


@pytest.mark.parametrize("spelling", ["0.0", "5.", "5.0", " 5", "5 ", "1_0", "+5", "0x10", "\u0665"])
def test_an_integer_parameter_takes_digits_only(staff: APIClient, spelling: str) -> None:
    # Python's int() reads all of these; the schema's "integer" and every client mean digits.
    response = staff.get("/api/v1/namespaces", {"offset": spelling})

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "offset"
    assert staff.get("/api/v1/namespaces", {"offset": "5"}).status_code == 200


# --- Tracemark graph endpoints -------------------------------------------------------------------------------------


def test_graph_lineage_takes_separate_depths(staff: APIClient, catalog: None) -> None:
    body = staff.get(
        "/api/v1/graph/lineage",
        {"nodeId": f"dataset:{S3}:features/customers", "upstreamDepth": 1, "downstreamDepth": 0},
    ).json()

    assert {n["id"] for n in body["nodes"]} == {
        f"dataset:{S3}:features/customers",
        "job:airflow://eu:ingest.customers",
        f"dataset:{PG}:public.customers",
    }
    assert body["truncated"] is False
    assert body["topologicalOrder"][0] == f"dataset:{PG}:public.customers"


def test_graph_lineage_reports_truncation(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/graph/lineage", {"nodeId": f"dataset:{PG}:public.customers", "nodeCap": 2}).json()

    assert body["truncated"] is True
    assert len(body["nodes"]) == 2


def test_graph_paths_show_how_a_table_reached_a_model(staff: APIClient, catalog: None) -> None:
    body = staff.get(
        "/api/v1/graph/paths",
        {"source": f"dataset:{PG}:public.customers", "target": "dataset:mlflow://models:churn/1"},
    ).json()

    assert body["connected"] is True
    assert body["paths"] == [
        [
            f"dataset:{PG}:public.customers",
            "job:airflow://eu:ingest.customers",
            f"dataset:{S3}:features/customers",
            "job:airflow://eu:train",
            "dataset:mlflow://models:churn/1",
        ]
    ]


def test_graph_impact_groups_downstream_by_kind(staff: APIClient, catalog: None) -> None:
    body = staff.get("/api/v1/graph/impact", {"nodeId": f"dataset:{PG}:public.customers"}).json()

    assert body["total"] == 4
    assert {g["kind"] for g in body["groups"]} == {"dataset:DATASET", "job:JOB"}


def test_graph_column_lineage_shows_transformations(staff: APIClient, catalog: None) -> None:
    body = staff.get(
        "/api/v1/graph/column-lineage",
        {"nodeId": f"datasetField:{S3}:features/customers:email"},
    ).json()

    (edge,) = body["edges"]
    assert (edge["transformationType"], edge["subtype"], edge["masking"]) == ("DIRECT", "IDENTITY", False)
    assert edge["job"] == "job:airflow://eu:ingest.customers"


def test_graph_as_of_resolves_a_timestamp_to_a_sequence(staff: APIClient, catalog: None) -> None:
    head = LedgerHead.objects.get().seq

    now = staff.get("/api/v1/graph/as-of").json()
    past = staff.get("/api/v1/graph/as-of", {"asOf": "2000-01-01T00:00:00Z"}).json()

    assert now["asOfSeq"] == head
    assert past["asOfSeq"] == 0


def test_as_of_and_as_of_seq_together_are_400(staff: APIClient, catalog: None) -> None:
    response = staff.get(
        "/api/v1/graph/lineage",
        {"nodeId": f"dataset:{PG}:public.customers", "asOf": "2026-01-01T00:00:00Z", "asOfSeq": 1},
    )

    assert response.status_code == 400


def test_read_endpoints_are_in_the_openapi_schema(staff: APIClient) -> None:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    assert {
        "/api/v1/namespaces/{namespace}/datasets/{dataset}",
        "/api/v1/graph/lineage/",
        "/api/v1/graph/paths/",
        "/api/v1/graph/impact/",
        "/api/v1/column-lineage/",
    } <= set(schema["paths"])
    assert "get" in schema["paths"]["/api/v1/lineage/"]
    assert "post" in schema["paths"]["/api/v1/lineage/"]


@functools.cache
def _api_schema() -> dict[str, Any]:
    return APIClient().get("/api/schema/", {"format": "json"}).json()


def _query_parameter_schema(path: str, name: str) -> dict[str, Any]:
    schema = _api_schema()
    (param,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return param["schema"]


# Python's whitespace (what DRF trims), characters a JSON Schema ``\s`` counts differently (U+FEFF,
# U+0085, U+001C to U+001F), NUL, and ordinary text with and without spaces around it.
EDGE_TEXTS = [
    *[pytest.param(c, id=f"U+{ord(c):04X}") for c in PYTHON_WHITESPACE],
    pytest.param("\ufeff", id="U+FEFF"),
    pytest.param("\u200b", id="U+200B"),
    pytest.param("\x00", id="NUL"),
    pytest.param("a\x00b", id="a-NUL-b"),
    pytest.param(" orders ", id="spaced"),
    pytest.param("\x1forders\x85", id="python-spaced"),
    pytest.param("orders", id="plain"),
]


@pytest.mark.parametrize("text", EDGE_TEXTS)
@pytest.mark.parametrize("name", ["q", "namespace"])
def test_search_parameters_are_refused_exactly_when_the_schema_forbids_them(
    staff: APIClient, name: str, text: str
) -> None:
    allowed = jsonschema_rs.validator_for(_query_parameter_schema("/api/v1/search/", name)).is_valid(text)

    response = staff.get("/api/v1/search/", {"q": "orders", name: text})

    assert response.status_code == (200 if allowed else 400), response.content


def test_the_schema_names_every_character_python_trims() -> None:
    assert set(PYTHON_WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_a_namespace_is_searched_exactly_as_given(staff: APIClient) -> None:
    events_ingest(events=[run_event(outputs=[dataset(namespace=" padded ", name="orders")])])

    exact = staff.get("/api/v1/search/", {"q": "orders", "namespace": " padded "}).json()
    trimmed = staff.get("/api/v1/search/", {"q": "orders", "namespace": "padded"}).json()

    assert [r["namespace"] for r in exact["results"]] == [" padded "]
    assert trimmed["totalCount"] == 0


@pytest.mark.parametrize("name", ["namespace", "q", "limit"])
def test_a_query_parameter_given_twice_is_400(staff: APIClient, name: str) -> None:
    # Reading the last value only would let a refused first value (here a NUL) pass unseen.
    query = "q=orders&limit=5&" + urlencode({name: "a\x00"}) + "&" + urlencode({name: "orders"})

    response = staff.get(f"/api/v1/search/?{query}")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": name, "message": "Give this parameter once."}]


def test_a_node_id_is_read_untrimmed(staff: APIClient) -> None:
    events_ingest(events=[run_event(outputs=[dataset(namespace=S3, name="orders ")])])

    padded = staff.get("/api/v1/lineage/", {"nodeId": f"dataset:{S3}:orders "})
    trimmed = staff.get("/api/v1/lineage/", {"nodeId": f"dataset:{S3}:orders"})
    control = staff.get("/api/v1/lineage/", {"nodeId": "dataset:\x1e"})

    assert padded.status_code == 200
    assert f"dataset:{S3}:orders " in {node["id"] for node in padded.json()["graph"]}
    assert trimmed.status_code == 404
    assert control.status_code == 404  # a readable id of nothing, as the schema's pattern says


@pytest.mark.parametrize(
    "spelling",
    ["{%s}", "urn:uuid:%s", "%s ", " %s"],
    ids=["braces", "urn", "trailing-space", "leading-space"],
)
def test_a_run_node_id_takes_the_hyphenated_form_only(staff: APIClient, spelling: str) -> None:
    run_id = str(uuid.uuid4())
    events_ingest(events=[run_event(run_id=run_id)])
    node_id = "run:" + spelling % run_id
    pattern = _query_parameter_schema("/api/v1/lineage/", "nodeId")

    response = staff.get("/api/v1/lineage/", {"nodeId": node_id})

    assert not jsonschema_rs.validator_for(pattern).is_valid(node_id)
    assert response.status_code == 400
    assert staff.get("/api/v1/lineage/", {"nodeId": f"run:{run_id}"}).status_code == 200


# --- Query counts of list endpoints ----------------------------------------------------------------------------------


@pytest.fixture
def many() -> None:
    """12 jobs in one namespace, each with 2 runs, reading and writing their own datasets."""
    events = []
    for i in range(12):
        for minute in (0, 1):
            events.append(
                run_event(
                    job=f"job{i:02}",
                    when=later(minute),
                    inputs=[dataset(S3, f"in{i}", schema=schema("a"))],
                    outputs=[dataset(S3, f"out{i}", schema=schema("a", str(minute)))],
                )
            )
    events_ingest(events=events)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/api/v1/namespaces", "namespaces"),
        (f"/api/v1/namespaces/{enc(S3)}/datasets", "datasets"),
        ("/api/v1/namespaces/airflow%3A%2F%2Feu/jobs", "jobs"),
        ("/api/v1/namespaces/airflow%3A%2F%2Feu/jobs/job00/runs", "runs"),
        ("/api/v1/namespaces/airflow%3A%2F%2Feu/jobs/job00/versions", "versions"),
        (f"/api/v1/namespaces/{enc(S3)}/datasets/out0/versions", "versions"),
        ("/api/v1/events/lineage", "events"),
        ("/api/v1/tags", "tags"),
    ],
)
def test_list_endpoint_costs_a_fixed_number_of_queries(
    staff: APIClient, many: None, django_assert_max_num_queries: Any, url: str, key: str
) -> None:
    with django_assert_max_num_queries(10):
        response = staff.get(url)

    assert response.status_code == 200
    assert key in response.json()


def test_search_costs_a_fixed_number_of_queries(
    staff: APIClient, many: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(8):
        body = staff.get("/api/v1/search", {"q": "o", "limit": 50}).json()

    assert body["totalCount"] >= 24


def test_lineage_graph_query_count_follows_depth_not_size(
    staff: APIClient, many: None, django_assert_max_num_queries: Any
) -> None:
    Run.objects.count()

    with django_assert_max_num_queries(20):
        staff.get("/api/v1/lineage", {"nodeId": f"dataset:{S3}:in0", "depth": 3})
