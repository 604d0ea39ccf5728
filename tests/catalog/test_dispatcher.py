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
