"""The outbox dispatcher with an unreachable broker, in-process (the real-worker tests are in test_worker)."""

from __future__ import annotations

import pytest
from celery import current_app
from django.test import override_settings

from lineage.models import OutboxMessage
from lineage.services import events_ingest
from lineage.tasks import outbox_dispatch
from tests.factories import run_event

pytestmark = pytest.mark.django_db


def _point_broker_at(url: str) -> None:
    """Make this process's Celery app (the dispatcher's publisher) connect to ``url`` from now on."""
    current_app.conf.broker_url = url
    current_app._pool = None
    current_app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    original = current_app.conf.broker_url
    _point_broker_at("redis://127.0.0.1:1/0")
    yield
    _point_broker_at(original)


@pytest.fixture
def quiet_broker(redis_url: str):
    """The real Redis on a database of its own, which no worker reads: what is published stays there."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/9"
    server = redis.Redis.from_url(url)
    server.flushdb()
    original = current_app.conf.broker_url
    _point_broker_at(url)
    yield server
    _point_broker_at(original)
    server.flushdb()


def test_broker_outage_leaves_messages_pending_with_the_error(broker_down) -> None:
    events_ingest(events=[run_event()])

    result = outbox_dispatch()

    message = OutboxMessage.objects.get()
    assert result.dispatched == 0
    assert message.dispatched_at is None
    assert message.attempts == 1
    assert message.last_error


@override_settings(TRACEMARK_OUTBOX_ROUTES={})
def test_message_without_a_route_stays_pending() -> None:
    events_ingest(events=[run_event()])

    outbox_dispatch()

    assert OutboxMessage.objects.get().dispatched_at is None


def test_one_graph_change_task_takes_along_every_message_still_pending() -> None:
    from catalog.models import FacetCursor
    from catalog.selectors import governance_get
    from catalog.tasks import GRAPH_CURSOR, process_graph_change
    from lineage.models import Dataset
    from tests.factories import governed

    for i in range(3):  # three intake transactions, three outbox messages (their tasks still queued)
        events_ingest(events=[run_event(inputs=[governed("s3://lake", f"raw/{i}", jurisdiction="US")])])
    first, *_, last = OutboxMessage.objects.order_by("id").values_list("payload", flat=True)

    process_graph_change(**first)

    assert FacetCursor.objects.get(name=GRAPH_CURSOR).seq == last["seq_to"]
    lake = Dataset.objects.filter(namespace__name="s3://lake")
    governance = governance_get(dataset_ids=lake.values_list("pk", flat=True))
    assert {g.first("jurisdiction") for g in governance.values()} == {"US"}  # all three, not only the first

    process_graph_change(**last)  # its message was taken along: nothing left to do

    assert FacetCursor.objects.get(name=GRAPH_CURSOR).seq == last["seq_to"]


# --- the intake's publish right after commit (it does not read the message back) ---------------


@pytest.fixture
def after_commit():
    """``outbox_dispatch_after_commit`` with its broker back-off reset before and after."""
    from lineage import tasks

    tasks._broker_down_until = 0.0
    yield tasks.outbox_dispatch_after_commit
    tasks._broker_down_until = 0.0


def _graph_changed(**fields) -> OutboxMessage:
    payload = {"seq_from": 1, "seq_to": 1, "dataset_ids": [], "job_ids": [], "run_ids": []}
    return OutboxMessage.objects.create(topic="graph.changed", payload=payload, **fields)


def test_after_commit_without_a_broker_the_message_stays_pending_with_the_error(broker_down, after_commit) -> None:
    message = _graph_changed()

    after_commit(message.pk, message.topic, message.payload)

    message.refresh_from_db()
    assert message.dispatched_at is None
    assert message.attempts == 1
    assert "Error" in message.last_error


def test_after_commit_a_message_a_drain_published_first_is_not_published_again(broker_down, after_commit) -> None:
    from django.utils import timezone

    message = _graph_changed(dispatched_at=timezone.now(), attempts=1)

    after_commit(message.pk, message.topic, message.payload)  # with the broker down, a publish would fail

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error == ""


@pytest.mark.redis
def test_after_commit_the_message_reaches_the_broker_and_is_marked(quiet_broker, after_commit) -> None:
    import json

    message = _graph_changed()
    after_commit(message.pk, message.topic, message.payload)

    message.refresh_from_db()
    assert message.dispatched_at is not None
    assert message.attempts == 1
    (published,) = quiet_broker.lrange("celery", 0, -1)
    assert json.loads(published)["headers"]["task"] == "catalog.process_graph_change"


@pytest.mark.redis
def test_published_message_carries_the_whole_payload_and_a_short_summary_of_it(quiet_broker) -> None:
    import base64
    import json

    from lineage.tasks import kwargs_summary

    with override_settings(TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT=False):
        events_ingest(events=[run_event()])
    payload = OutboxMessage.objects.get().payload

    assert outbox_dispatch().dispatched == 1
    (raw,) = quiet_broker.lrange("celery", 0, -1)
    message = json.loads(raw)
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "catalog.process_graph_change"
    assert (args, kwargs) == ([], payload)
    assert message["headers"]["kwargsrepr"] == kwargs_summary(payload)
    assert f"'seq_to': {payload['seq_to']}" in message["headers"]["kwargsrepr"]
    assert f"'dataset_ids': [{len(payload['dataset_ids'])} items]" in message["headers"]["kwargsrepr"]
