"""The real openlineage-python client, over HTTP, against a live Tracemark server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Dataset, DatasetEvent, Job, JobEvent, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from lineage.models import LedgerEntry
from lineage.models import Run as StoredRun
from lineage.services import IssuedKey

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PRODUCER = "https://github.com/tracemark/tests/openlineage-client"


def _client(url: str, key: str, *, gzip: bool) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"apiKey": key}),
        compression=HttpCompression.GZIP if gzip else None,
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _run_event(state: RunState, run_id: str, job: str = "train.model") -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(tz=UTC).isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace="ml://factory", name=job),
        producer=PRODUCER,
        inputs=[
            Dataset(
                namespace="s3://features",
                name="credit/train",
                facets={
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[schema_dataset.SchemaDatasetFacetFields(name="income", type="DOUBLE")]
                    )
                },
            )
        ],
        outputs=[Dataset(namespace="mlflow://models", name="credit-scoring/1")],
    )


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_openlineage_client_events_are_accepted_over_http(live_server, producer_key: IssuedKey, gzip: bool) -> None:
    client = _client(live_server.url, producer_key.secret, gzip=gzip)
    run_id = str(uuid.uuid4())

    client.emit(_run_event(RunState.START, run_id))
    client.emit(_run_event(RunState.COMPLETE, run_id))

    assert LedgerEntry.objects.count() == 2
    assert StoredRun.objects.get(run_id=run_id).state == "COMPLETE"


def test_openlineage_client_dataset_and_job_events_are_accepted(live_server, producer_key: IssuedKey) -> None:
    client = _client(live_server.url, producer_key.secret, gzip=False)

    client.emit(
        DatasetEvent(
            eventTime=datetime.now(tz=UTC).isoformat(),
            producer=PRODUCER,
            dataset=Dataset(namespace="s3://raw", name="applications"),
        )
    )
    client.emit(
        JobEvent(
            eventTime=datetime.now(tz=UTC).isoformat(),
            producer=PRODUCER,
            job=Job(namespace="airflow://eu", name="load"),
            inputs=[Dataset(namespace="s3://raw", name="applications")],
            outputs=[],
        )
    )

    assert LedgerEntry.objects.count() == 2


def test_openlineage_client_with_parent_facet_links_child_to_parent(live_server, producer_key: IssuedKey) -> None:
    client = _client(live_server.url, producer_key.secret, gzip=False)
    parent_id, child_id = str(uuid.uuid4()), str(uuid.uuid4())
    child = _run_event(RunState.COMPLETE, child_id, job="dag.task")
    child.run.facets = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_id), job=parent_run.Job(namespace="ml://factory", name="dag")
        )
    }

    client.emit(child)

    assert StoredRun.objects.get(run_id=child_id).parent.run_id == uuid.UUID(parent_id)


def test_openlineage_client_with_bad_key_raises(live_server, producer_key: IssuedKey) -> None:
    client = _client(live_server.url, "tm_wrong", gzip=False)

    with pytest.raises(requests.HTTPError, match="401"):
        client.emit(_run_event(RunState.START, str(uuid.uuid4())))

    assert LedgerEntry.objects.count() == 0
