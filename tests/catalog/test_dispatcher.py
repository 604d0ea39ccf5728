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


@pytest.fixture
def broker_down():
    original = current_app.conf.broker_url
    current_app.conf.broker_url = "redis://127.0.0.1:1/0"
    current_app._pool = None
    current_app.amqp._producer_pool = None
    yield
    current_app.conf.broker_url = original
    current_app._pool = None
    current_app.amqp._producer_pool = None


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
