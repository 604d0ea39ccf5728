"""The reference server's own Python client (marquez-python) reads Tracemark over HTTP.

marquez-python sends no credentials of its own beyond an optional bearer key, and producer keys
may not read: the test signs a staff user in and hands the client that session's cookie, the way
a staff member's script would.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lineage.services import events_ingest
from tests.factories import PRODUCER, dataset, later, run_event

marquez_client = pytest.importorskip("marquez_client", reason="marquez-python is not installed")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PG = "postgres://db.internal:5432"
S3 = "s3://lake"
RUN_ID = str(uuid.uuid4())


def schema(*names: str) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": n, "type": "STRING"} for n in names],
    }


@pytest.fixture
def client(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    user = get_user_model().objects.create_user("script", password="x", is_staff=True)
    browser = Client()
    browser.force_login(user)
    monkeypatch.setitem(marquez_client.client._HEADERS, "Cookie", f"sessionid={browser.cookies['sessionid'].value}")
    column_lineage = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            "email": {
                "inputFields": [
                    {
                        "namespace": PG,
                        "name": "public.customers",
                        "field": "email",
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                ]
            }
        },
    }
    events_ingest(
        events=[
            run_event(
                event_type="START",
                run_id=RUN_ID,
                job="ingest.customers",
                when=later(0),
                inputs=[dataset(PG, "public.customers", schema=schema("id", "email"))],
                outputs=[],
            ),
            run_event(
                event_type="COMPLETE",
                run_id=RUN_ID,
                job="ingest.customers",
                when=later(1),
                inputs=[],
                outputs=[dataset(S3, "features/customers", schema=schema("email"), columnLineage=column_lineage)],
            ),
        ]
    )
    return marquez_client.MarquezClient(url=live_server.url)


def test_marquez_client_lists_and_gets_namespaces(client: Any) -> None:
    names = [n["name"] for n in client.list_namespaces()["namespaces"]]

    assert PG in names
    assert client.get_namespace(PG)["name"] == PG


def test_marquez_client_reads_datasets_and_their_versions(client: Any) -> None:
    listed = client.list_datasets(S3)
    one = client.get_dataset(S3, "features/customers")
    versions = client.list_dataset_versions(S3, "features/customers")
    version = client.get_dataset_version(S3, "features/customers", versions["versions"][0]["version"])

    assert listed["totalCount"] == 1
    assert one["fields"][0]["name"] == "email"
    assert version["version"] == one["currentVersion"]


def test_marquez_client_reads_jobs_and_runs(client: Any) -> None:
    job = client.get_job("airflow://eu", "ingest.customers")
    runs = client.list_job_runs("airflow://eu", "ingest.customers")
    run = client.get_job_run(RUN_ID)

    assert job["latestRun"]["id"] == RUN_ID
    assert [r["id"] for r in runs["runs"]] == [RUN_ID]
    assert run["state"] == "COMPLETED"
    assert client.list_jobs("airflow://eu")["totalCount"] == 1


def test_marquez_client_reads_column_lineage(client: Any) -> None:
    graph = client.get_column_lineage_by_dataset_field(S3, "features/customers", "email", depth=5)

    assert {n["id"] for n in graph["graph"]} == {
        f"datasetField:{S3}:features/customers:email",
        f"datasetField:{PG}:public.customers:email",
    }


def test_marquez_client_lists_tags(client: Any) -> None:
    assert client.list_tags(limit=10, offset=0) == {"tags": []}


def test_marquez_client_without_a_staff_session_is_refused(live_server: Any) -> None:
    anonymous = marquez_client.MarquezClient(url=live_server.url)

    with pytest.raises(marquez_client.errors.APIError):
        anonymous.list_namespaces()
