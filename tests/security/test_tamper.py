"""Tamper evidence beyond tests/lineage/test_ledger.py: reordering, triggers switched off, governance rows.

An intruder with database access lifts the append-only triggers (as a superuser can) and edits the
ledger; verify_ledger must name the first entry that no longer fits the chain.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from lineage.canonical import canonical_json, sha256_hex
from lineage.ledger import ledger_verify
from lineage.services import events_ingest, governance_record
from tests.factories import run_event

pytestmark = pytest.mark.django_db
SWAPPED = ("kind", "received_at", "producer_id", "payload", "payload_hash", "prev_hash", "chain_hash")


def _ingest(n: int) -> None:
    assert events_ingest(events=[run_event() for _ in range(n)]).count("accepted") == n


def _as_intruder(*statements: tuple[str, list[object]]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS lineage_ledgerentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS lineage_ledgerentry_no_delete")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_two_entries_swapped_whole_are_caught_at_the_first_of_them() -> None:
    _ingest(5)
    _swap_via_python(2, 4)

    result = ledger_verify()

    assert not result.ok
    assert result.problem is not None
    assert result.problem.seq == 2
    assert "reordered" in result.problem.message


def test_two_payloads_swapped_with_their_hashes_are_caught() -> None:
    _ingest(4)
    _swap_via_python(2, 3, columns=("payload", "payload_hash"))

    with pytest.raises(CommandError, match="entry #2"):
        call_command("verify_ledger")


def test_a_governance_decision_altered_afterwards_is_caught() -> None:
    _ingest(2)
    governance_record(action="waiver", subject="finding:1", actor="user:alice", details={"until": "2026-12-31"})
    _ingest(1)
    _as_intruder(
        ("UPDATE lineage_ledgerentry SET payload = replace(payload, '2026-12-31', '2099-12-31') WHERE seq = %s", [3])
    )

    result = ledger_verify()

    assert result.problem is not None
    assert result.problem.seq == 3


def test_an_entry_appended_behind_the_services_back_is_caught() -> None:
    _ingest(3)
    forged = canonical_json(run_event(job="forged"))
    _as_intruder(
        (
            "INSERT INTO lineage_ledgerentry (seq, kind, received_at, payload, payload_hash, prev_hash, chain_hash, "
            "event_type, warnings) SELECT 4, kind, received_at, %s, %s, chain_hash, %s, event_type, warnings "
            "FROM lineage_ledgerentry WHERE seq = 3",
            [forged.decode(), sha256_hex(forged), "f" * 64],
        )
    )

    result = ledger_verify()

    assert not result.ok
    assert result.problem is not None
    assert result.problem.seq == 4


@pytest.mark.postgres
def test_with_every_trigger_disabled_by_alter_table_an_edit_is_still_caught() -> None:
    _ingest(3)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending on the table
        cursor.execute("ALTER TABLE lineage_ledgerentry DISABLE TRIGGER ALL")
        cursor.execute("UPDATE lineage_ledgerentry SET received_at = received_at + interval '1 second' WHERE seq = 2")
        cursor.execute("ALTER TABLE lineage_ledgerentry ENABLE TRIGGER ALL")

    result = ledger_verify()

    assert result.problem is not None
    assert result.problem.seq == 2


@pytest.mark.postgres
def test_truncate_of_the_ledger_is_refused_by_postgresql() -> None:
    _ingest(2)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending on the table

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE lineage_ledgerentry CASCADE")

    assert ledger_verify().ok
    assert ledger_verify().count == 2


def _swap_via_python(a: int, b: int, columns: tuple[str, ...] = SWAPPED) -> None:
    """Exchange the contents of entries a and b, keeping their sequence numbers (a reordering)."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM lineage_ledgerentry WHERE seq = %s", [a])
        row_a = cursor.fetchone()
        cursor.execute(f"SELECT {names} FROM lineage_ledgerentry WHERE seq = %s", [b])
        row_b = cursor.fetchone()
    sets = ", ".join(f"{c} = %s" for c in columns)
    # payload_hash is unique among events: park a's under a placeholder while b takes it.
    _as_intruder(
        ("UPDATE lineage_ledgerentry SET payload_hash = %s WHERE seq = %s", ["parked", a]),
        (f"UPDATE lineage_ledgerentry SET {sets} WHERE seq = %s", [*row_a, b]),
        (f"UPDATE lineage_ledgerentry SET {sets} WHERE seq = %s", [*row_b, a]),
    )
