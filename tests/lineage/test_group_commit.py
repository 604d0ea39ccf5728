"""Concurrent intake calls of one process are stored together (lineage.services.GroupCommit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from lineage.canonical import canonical_json, sha256_hex
from lineage.graph import graph_head_seq
from lineage.ledger import ledger_lock_head, ledger_verify
from lineage.models import Job, LedgerEntry, OutboxMessage
from lineage.services import OUTBOX_GRAPH_CHANGED, IntakeOutcome, api_key_issue, events_ingest, intake_expecting
from tests.factories import run_event

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(
    count: int, call: Callable[[int], IntakeOutcome], *, before: Callable[[], None] | None = None
) -> list[Any]:
    """Run ``call(i)`` in ``count`` threads that all announce themselves before any of them stores."""
    announced = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def worker(i: int) -> None:
        try:
            if before:
                before()
            with intake_expecting():
                announced.wait(timeout=30)
                outcomes[i] = call(i)
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    # Daemons: a thread left waiting by a broken leader must not keep the test process alive.
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def patient_leader(settings: Any) -> None:
    # Far longer than ``_in_threads`` waits for its threads: a slow machine cannot split a group, and
    # a leader that waited for a caller who is not coming would leave its callers unanswered.
    settings.TRACEMARK_GROUP_COMMIT_WAIT_MS = 600_000


def test_callers_on_their_way_are_appended_and_folded_together_each_getting_its_own_result(
    patient_leader: None,
) -> None:
    keys = [api_key_issue(name="a").api_key, api_key_issue(name="b").api_key]
    events = [run_event(job=f"etl.step{i}") for i in range(6)]

    outcomes = _in_threads(6, lambda i: events_ingest(events=[events[i]], producer=keys[i % 2]))

    entries = {e.payload_hash: e for e in LedgerEntry.objects.all()}
    assert len(entries) == 6
    for i, outcome in enumerate(outcomes):
        assert isinstance(outcome, IntakeOutcome), outcome
        (result,) = outcome.results
        entry = entries[sha256_hex(canonical_json(events[i]))]
        assert (result.status, result.seq, result.payload_hash) == ("accepted", entry.seq, entry.payload_hash)
        assert entry.producer_id == keys[i % 2].pk
    # One group: one append (one received_at for all), one fold, one graph.changed message.
    assert len({e.received_at for e in entries.values()}) == 1
    (message,) = OutboxMessage.objects.filter(topic=OUTBOX_GRAPH_CHANGED)
    assert (message.payload["seq_from"], message.payload["seq_to"]) == (1, 6)
    assert graph_head_seq() == 6
    assert Job.objects.count() == 6
    assert ledger_verify().ok


def test_the_same_event_from_two_callers_of_one_group_is_stored_once(patient_leader: None) -> None:
    event = run_event()

    outcomes = _in_threads(2, lambda i: events_ingest(events=[event]))

    statuses = sorted((o.results[0].status, o.results[0].seq) for o in outcomes)
    assert statuses == [("accepted", 1), ("duplicate", 1)]
    assert LedgerEntry.objects.count() == 1


def test_invalid_events_are_answered_without_holding_up_the_group(patient_leader: None) -> None:
    good, bad = run_event(job="etl.ok"), {"eventType": "START"}

    outcomes = _in_threads(
        3, lambda i: events_ingest(events=[bad if i == 0 else {**good, "job": {**good["job"], "name": f"j{i}"}}])
    )

    assert [o.results[0].status for o in outcomes] == ["invalid", "accepted", "accepted"]
    assert LedgerEntry.objects.count() == 2


@pytest.mark.postgres
def test_an_error_while_storing_a_group_reaches_every_caller_and_nothing_is_stored(patient_leader: None) -> None:
    def short_lock_timeout() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")

    with transaction.atomic():
        ledger_lock_head()  # held by another writer: the leader's append cannot get the head
        outcomes = _in_threads(
            4, lambda i: events_ingest(events=[run_event(job=f"etl.step{i}")]), before=short_lock_timeout
        )

    assert all(isinstance(o, OperationalError) for o in outcomes), outcomes
    assert LedgerEntry.objects.count() == 0

    retried = _in_threads(4, lambda i: events_ingest(events=[run_event(job=f"etl.step{i}")]))
    assert [o.results[0].status for o in retried] == ["accepted"] * 4


def test_a_caller_alone_does_not_wait_for_itself(patient_leader: None) -> None:
    (outcome,) = _in_threads(1, lambda i: events_ingest(events=[run_event()]))
    assert isinstance(outcome, IntakeOutcome), outcome
    assert outcome.results[0].status == "accepted"
