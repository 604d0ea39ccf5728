from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from lineage.canonical import canonical_json, sha256_hex
from lineage.ledger import ledger_verify
from lineage.models import LedgerEntry
from lineage.services import events_ingest
from tests.factories import run_event

pytestmark = pytest.mark.django_db


def _ingest(n: int) -> None:
    outcome = events_ingest(events=[run_event() for _ in range(n)])
    assert outcome.count("accepted") == n


def _without_ledger_triggers(sql: str, params: list[object]) -> None:
    """Change the ledger behind Tracemark's back, as an attacker with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser can skip user triggers for a session, as an intruder with access would.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET session_replication_role = DEFAULT")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS lineage_ledgerentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS lineage_ledgerentry_no_delete")
            cursor.execute(sql, params)


def test_chain_links_each_entry_to_the_previous_one() -> None:
    _ingest(3)

    entries = list(LedgerEntry.objects.order_by("seq"))

    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == "0" * 64
    assert entries[1].prev_hash == entries[0].chain_hash
    assert entries[2].prev_hash == entries[1].chain_hash


def test_payload_hash_is_sha256_of_canonical_json() -> None:
    event = run_event()
    events_ingest(events=[event])

    entry = LedgerEntry.objects.get()

    assert entry.payload_hash == sha256_hex(canonical_json(event))


def test_verify_ledger_prints_head_and_count(capsys: pytest.CaptureFixture[str]) -> None:
    _ingest(4)

    call_command("verify_ledger")

    out = capsys.readouterr().out
    head = LedgerEntry.objects.get(seq=4)
    assert "4 entries" in out
    assert head.chain_hash in out


def test_database_refuses_update_of_a_ledger_entry() -> None:
    _ingest(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(seq=1).update(payload="{}")


def test_database_refuses_delete_of_a_ledger_entry() -> None:
    _ingest(1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(seq=1).delete()


def test_verify_ledger_names_the_altered_entry() -> None:
    _ingest(5)
    _without_ledger_triggers("UPDATE lineage_ledgerentry SET payload = %s WHERE seq = 3", ['{"forged":true}'])

    with pytest.raises(CommandError, match="entry #3"):
        call_command("verify_ledger")


def test_verify_ledger_names_a_removed_entry() -> None:
    _ingest(5)
    _without_ledger_triggers("DELETE FROM lineage_ledgerentry WHERE seq = %s", [2])

    result = ledger_verify()

    assert not result.ok
    assert result.problem is not None
    assert result.problem.seq == 3
    assert "missing" in result.problem.message


def test_verify_ledger_detects_removed_tail_entries() -> None:
    _ingest(3)
    _without_ledger_triggers("DELETE FROM lineage_ledgerentry WHERE seq = %s", [3])

    result = ledger_verify()

    assert not result.ok


def test_verify_ledger_detects_a_rewritten_chain_hash() -> None:
    _ingest(3)
    _without_ledger_triggers("UPDATE lineage_ledgerentry SET chain_hash = %s WHERE seq = 2", ["f" * 64])

    result = ledger_verify()

    assert not result.ok
    assert result.problem is not None
    assert result.problem.seq == 2


@pytest.mark.postgres
def test_large_payloads_are_compressed_with_lz4_and_read_back_unchanged() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL was built without lz4: payloads keep pglz")
    event = run_event()
    event["run"]["facets"] = {
        "notes": {
            "_producer": "https://example.com",
            "_schemaURL": "https://example.com/s",
            "lines": [f"line {i} of a long note" for i in range(400)],
        }
    }
    events_ingest(events=[event])

    entry = LedgerEntry.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(payload) FROM lineage_ledgerentry WHERE seq = %s", [entry.seq])
        (method,) = cursor.fetchone()
    assert len(entry.payload) > 8000
    assert method == "lz4"
    assert entry.payload.encode() == canonical_json(event)
    assert entry.payload_hash == sha256_hex(canonical_json(event))
