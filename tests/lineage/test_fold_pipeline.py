"""The graph folds the ledger behind the append: in order, once, and without stopping on a bad entry.

The intake appends under the ledger head's lock and then folds under the graph head's lock, and
answers once its events are folded. A web process that dies between the two leaves entries the
next request, or the beat task, folds.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from lineage.canonical import canonical_json, sha256_hex
from lineage.graph import as_of_resolve, graph_head_seq
from lineage.ledger import NewEntry, ledger_append, ledger_lock_head, ledger_verify
from lineage.models import FoldFailure, Job, LedgerEntry, LedgerHead, OutboxMessage, Run
from lineage.services import OUTBOX_GRAPH_CHANGED, events_ingest, governance_record
from lineage.tasks import fold_pending
from tests.factories import T0, run_event

pytestmark = pytest.mark.django_db


def append_only(event: dict[str, Any]) -> int:
    """What a web process has done when it dies right after its append committed."""
    payload = canonical_json(event)
    with transaction.atomic():
        (row,) = ledger_append(
            head=ledger_lock_head(),
            entries=[
                NewEntry(
                    kind=LedgerEntry.Kind.EVENT,
                    payload=payload,
                    payload_hash=sha256_hex(payload),
                    event_type=event["eventType"],
                    event_time=T0,
                )
            ],
            received_at=timezone.now(),
        )
    return row.seq


def jobs() -> set[str]:
    return set(Job.objects.values_list("name", flat=True))


def test_an_accepted_event_is_in_the_graph_when_the_answer_comes() -> None:
    outcome = events_ingest(events=[run_event(job="train.model")])

    (result,) = outcome.results
    assert result.status == "accepted"
    assert jobs() == {"train.model"}
    assert graph_head_seq() == result.seq == LedgerHead.objects.get().seq


def test_an_entry_left_unfolded_by_a_dead_process_is_folded_by_the_beat_task() -> None:
    seq = append_only(run_event(job="orphan"))
    assert jobs() == set()
    assert graph_head_seq() == 0
    assert as_of_resolve() == 0  # queries answer for what is folded, not for the ledger head

    assert fold_pending() == 1

    assert jobs() == {"orphan"}
    assert graph_head_seq() == seq
    message = OutboxMessage.objects.get(topic=OUTBOX_GRAPH_CHANGED)
    assert (message.payload["seq_from"], message.payload["seq_to"]) == (seq, seq)
    assert fold_pending() == 0  # nothing left: a second run does nothing


def test_the_next_request_folds_what_an_earlier_one_left_in_ledger_order() -> None:
    run_id = "0f6f2b6e-8a5f-4f73-9d5a-2a4f3b1b0a01"
    append_only(run_event(run_id=run_id, event_type="COMPLETE", when=T0))
    events_ingest(events=[run_event(run_id=run_id, event_type="START", when=T0.replace(hour=11))])

    run = Run.objects.get(run_id=run_id)
    assert run.state == "COMPLETE"  # the late START did not reopen it
    assert graph_head_seq() == 2
    assert Run.objects.count() == 1


def test_governance_entries_are_passed_over_by_the_fold() -> None:
    events_ingest(events=[run_event(job="a")])
    governance_record(action="waive", subject="finding:1", actor="alice", details={})
    events_ingest(events=[run_event(job="b")])

    assert graph_head_seq() == 3
    assert jobs() == {"a", "b"}
    assert not FoldFailure.objects.exists()


@pytest.mark.postgres  # SQLite stores an over-long name; PostgreSQL refuses it, and the fold with it
def test_an_entry_that_cannot_be_folded_is_set_aside_and_the_graph_goes_on() -> None:
    # The intake refuses names over 1,024 characters; a ledger written by an older version may hold one.
    bad = append_only(run_event(job="x" * 3000))

    outcome = events_ingest(events=[run_event(job="after")])

    (result,) = outcome.results
    assert result.status == "accepted"
    assert jobs() == {"after"}
    failure = FoldFailure.objects.get()
    assert failure.seq == bad
    assert "value too long" in failure.error
    assert graph_head_seq() == result.seq
    assert LedgerEntry.objects.count() == 2  # the bad entry stays in the ledger, unchanged
    assert ledger_verify().ok


def test_now_includes_a_governance_decision_recorded_after_the_last_fold() -> None:
    events_ingest(events=[run_event(job="a")])
    decision = governance_record(action="waive", subject="finding:1", actor="alice", details={})

    assert as_of_resolve() == graph_head_seq() == decision.seq  # no event waits: now is the ledger head
    pending = append_only(run_event(job="b"))
    assert as_of_resolve() == pending - 1  # an event waits: now stops just before it
