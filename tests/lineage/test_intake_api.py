from __future__ import annotations

import gzip
import uuid

import orjson
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from lineage.models import Dataset, Job, LedgerEntry, Run, RunDataset
from lineage.services import IssuedKey, api_key_issue, api_key_revoke
from tests.factories import dataset, run_event

pytestmark = pytest.mark.django_db


def post(client: APIClient, body: bytes, path: str = "/api/v1/lineage", **headers: str):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def test_valid_run_event_is_accepted_and_stored_in_ledger(producer: APIClient) -> None:
    event = run_event()

    response = post(producer, orjson.dumps(event))

    assert response.status_code == 201
    assert response.json()["status"] == "accepted"
    entry = LedgerEntry.objects.get(seq=response.json()["seq"])
    assert orjson.loads(entry.payload) == event


def test_trailing_slash_is_accepted_without_redirect(producer: APIClient) -> None:
    response = post(producer, orjson.dumps(run_event()), path="/api/v1/lineage/")

    assert response.status_code == 201


def test_gzip_encoded_event_is_accepted(producer: APIClient) -> None:
    body = gzip.compress(orjson.dumps(run_event()))

    response = post(producer, body, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 201
    assert LedgerEntry.objects.count() == 1


def test_request_without_api_key_is_refused_with_401() -> None:
    response = post(APIClient(), orjson.dumps(run_event()))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert LedgerEntry.objects.count() == 0


def test_request_with_wrong_api_key_is_refused_with_401(producer_key: IssuedKey) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tm_not-a-real-key")

    response = post(client, orjson.dumps(run_event()))

    assert response.status_code == 401
    assert "Invalid" in response.json()["message"]


def test_revoked_api_key_is_refused_with_401(producer: APIClient, producer_key: IssuedKey) -> None:
    api_key_revoke(name=producer_key.api_key.name)

    response = post(producer, orjson.dumps(run_event()))

    assert response.status_code == 401


def test_invalid_event_is_rejected_with_path_of_each_problem_and_nothing_stored(producer: APIClient) -> None:
    event = run_event()
    del event["run"]["runId"]

    response = post(producer, orjson.dumps(event))

    assert response.status_code == 400
    paths = [e["path"] for e in response.json()["errors"]]
    assert "run.runId" in paths
    assert LedgerEntry.objects.count() == 0
    assert Job.objects.count() == 0


def test_resent_event_is_acknowledged_as_duplicate_and_stored_once(producer: APIClient) -> None:
    body = orjson.dumps(run_event())
    first = post(producer, body)

    second = post(producer, body)

    assert second.status_code == 200
    assert second.json() == {**second.json(), "status": "duplicate", "seq": first.json()["seq"]}
    assert LedgerEntry.objects.count() == 1


def test_non_json_body_is_rejected_with_400(producer: APIClient) -> None:
    response = post(producer, b"{not json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_non_json_content_type_is_rejected_with_415(producer: APIClient) -> None:
    response = producer.generic("POST", "/api/v1/lineage", b"hello", content_type="text/plain")

    assert response.status_code == 415


@override_settings(TRACEMARK_MAX_BODY_BYTES=2048)
def test_oversized_body_is_rejected_with_413(producer: APIClient) -> None:
    event = run_event(run_facets={"big": {"_producer": "x", "blob": "a" * 4096}})

    response = post(producer, orjson.dumps(event))

    assert response.status_code == 413
    assert LedgerEntry.objects.count() == 0


@override_settings(TRACEMARK_MAX_BODY_BYTES=64 * 1024)
def test_gzip_bomb_is_rejected_with_413_without_storing(producer: APIClient) -> None:
    bomb = gzip.compress(b"[" + b" " * (50 * 1024 * 1024) + b"]")
    assert len(bomb) < 64 * 1024

    response = post(producer, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413


def test_event_is_folded_into_namespaces_datasets_jobs_and_run_edges(producer: APIClient) -> None:
    event = run_event(inputs=[dataset("s3://raw", "a")], outputs=[dataset("s3://clean", "b")])

    post(producer, orjson.dumps(event))

    run = Run.objects.get(run_id=uuid.UUID(event["run"]["runId"]))
    assert run.state == "COMPLETE"
    assert run.job.name == "etl.load"
    edges = {(e.dataset.name, e.direction) for e in RunDataset.objects.select_related("dataset")}
    assert edges == {("a", "in"), ("b", "out")}
    assert Dataset.objects.count() == 2


def test_key_scoped_to_namespaces_cannot_write_elsewhere() -> None:
    issued = api_key_issue(name="scoped", namespaces=["airflow://eu*", "s3://*"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")

    allowed = post(client, orjson.dumps(run_event(namespace="airflow://eu-west")))
    refused = post(client, orjson.dumps(run_event(namespace="airflow://us-east")))

    assert allowed.status_code == 201
    assert refused.status_code == 403
    assert LedgerEntry.objects.count() == 1


def test_batch_stores_valid_events_and_reports_each_result(producer: APIClient) -> None:
    good = run_event()
    bad = run_event()
    del bad["job"]["name"]
    body = orjson.dumps([good, bad, good])

    response = post(producer, body, path="/api/v1/lineage/batch")

    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["accepted", "invalid", "duplicate"]
    assert response.json()["results"][1]["errors"][0]["path"] == "job.name"
    assert LedgerEntry.objects.count() == 1


def test_batch_accepts_ndjson_with_a_broken_line(producer: APIClient) -> None:
    body = orjson.dumps(run_event()) + b"\n{broken\n" + orjson.dumps(run_event()) + b"\n"

    response = producer.generic("POST", "/api/v1/lineage/batch", body, content_type="application/x-ndjson")

    assert [r["status"] for r in response.json()["results"]] == ["accepted", "invalid", "accepted"]
    assert "line 2" in response.json()["results"][1]["errors"][0]["message"]


def test_late_start_event_does_not_reopen_completed_run(producer: APIClient) -> None:
    run_id = str(uuid.uuid4())
    from tests.factories import later

    post(producer, orjson.dumps(run_event(event_type="COMPLETE", run_id=run_id, when=later(10))))
    post(producer, orjson.dumps(run_event(event_type="START", run_id=run_id, when=later(0))))

    run = Run.objects.get(run_id=run_id)
    assert run.state == "COMPLETE"
    assert run.state_changes.count() == 2


def test_child_run_arriving_before_parent_gets_placeholder_parent(producer: APIClient) -> None:
    parent_id = str(uuid.uuid4())
    parent_facet = {
        "_producer": "x",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
        "run": {"runId": parent_id},
        "job": {"namespace": "airflow://eu", "name": "dag"},
    }

    post(producer, orjson.dumps(run_event(job="dag.task", run_facets={"parent": parent_facet})))
    placeholder = Run.objects.get(run_id=parent_id)
    post(producer, orjson.dumps(run_event(job="dag", run_id=parent_id)))

    placeholder.refresh_from_db()
    assert placeholder.children.count() == 1
    assert placeholder.is_placeholder is False


@override_settings(TRACEMARK_MAX_INFLIGHT=0, TRACEMARK_RETRY_AFTER_SECONDS=7)
def test_intake_at_capacity_answers_503_with_retry_after_and_stores_nothing(producer: APIClient) -> None:
    response = post(producer, orjson.dumps(run_event()))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert LedgerEntry.objects.count() == 0


def test_json_array_posted_to_single_event_endpoint_points_to_batch(producer: APIClient) -> None:
    response = post(producer, orjson.dumps([run_event()]))

    assert response.status_code == 400
    assert "/api/v1/lineage/batch" in response.json()["message"]


def test_event_without_timezone_is_accepted_with_a_warning(producer: APIClient) -> None:
    event = run_event()
    event["eventTime"] = "2026-05-04T12:00:00"

    response = post(producer, orjson.dumps(event))

    assert response.status_code == 201
    assert any("UTC" in w for w in response.json()["warnings"])
    assert LedgerEntry.objects.get().warnings == response.json()["warnings"]


def test_custom_facets_are_stored_verbatim(producer: APIClient) -> None:
    facet = {"_producer": "https://x", "_schemaURL": "https://x/s.json", "nested": {"ünï": [1, 2.5, None]}}
    event = run_event(run_facets={"acme_custom": facet})

    post(producer, orjson.dumps(event))

    stored = orjson.loads(LedgerEntry.objects.get().payload)
    assert stored["run"]["facets"]["acme_custom"] == facet


def test_get_is_not_a_way_to_post_events(producer: APIClient) -> None:
    response = producer.get("/api/v1/lineage/batch")

    assert response.status_code == 405
