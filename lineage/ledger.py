"""The append-only, hash-chained ledger: appending entries and verifying the chain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model

from lineage.bulk import bulk_insert
from lineage.canonical import GENESIS_HASH, chain_hash, sha256_hex
from lineage.models import LedgerEntry, LedgerHead


@dataclass(frozen=True)
class NewEntry:
    """An entry to append; ``payload`` is canonical JSON and ``payload_hash`` its SHA-256."""

    kind: str
    payload: bytes
    payload_hash: str
    producer_id: int | None = None
    event_type: str = ""
    event_time: datetime | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerState:
    seq: int
    chain_hash: str


def head_lock(model: type[Model], columns: Sequence[str], first: Model) -> tuple[Any, ...]:
    """Lock the single row (id 1) of a head table until the transaction ends; its ``columns``.

    ``first`` is the row to create on first use (a new or flushed database). Plain SQL: it runs
    on every append and every fold, where the ORM's query compilation cost more than the query.
    On SQLite, which has no row locks, the writer's database lock serialises instead.
    """
    assert connection.in_atomic_block, "a head is locked inside a transaction"
    row = _select_head(model, tuple(columns))
    if row is None:
        model.objects.bulk_create([first], ignore_conflicts=True)
        row = _select_head(model, tuple(columns))
    return row


def head_update(model: type[Model], **values: Any) -> None:
    """Set columns of a head row (id 1), in plain SQL like ``head_lock``."""
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in values)
    with connection.cursor() as cursor:
        # Table and column names come from the model, never from input.
        sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE id = 1"  # noqa: S608
        cursor.execute(sql, list(values.values()))


def _select_head(model: type[Model], columns: tuple[str, ...]) -> tuple[Any, ...] | None:
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE id = 1{lock}")  # noqa: S608
        return cursor.fetchone()


def ledger_lock_head() -> LedgerHead:
    """Lock the head row; every append holds it until commit, so sequence order is commit order."""
    seq, chain = head_lock(LedgerHead, ("seq", "chain_hash"), LedgerHead(id=1, seq=0, chain_hash=GENESIS_HASH))
    return LedgerHead(id=1, seq=seq, chain_hash=chain)


def ledger_append(*, head: LedgerHead, entries: Sequence[NewEntry], received_at: datetime) -> list[LedgerEntry]:
    """Append entries after ``head`` (already locked by the caller) and advance the head."""
    rows: list[LedgerEntry] = []
    values: list[dict[str, Any]] = []
    prev, seq = head.chain_hash, head.seq
    for entry in entries:
        seq += 1
        digest = chain_hash(
            prev_hash=prev,
            seq=seq,
            kind=entry.kind,
            received_at=received_at,
            producer_id=entry.producer_id,
            payload_hash=entry.payload_hash,
        )
        row = {
            "seq": seq,
            "kind": entry.kind,
            "received_at": received_at,
            "producer_id": entry.producer_id,
            "payload": entry.payload.decode(),
            "payload_hash": entry.payload_hash,
            "prev_hash": prev,
            "chain_hash": digest,
            "event_type": entry.event_type,
            "event_time": entry.event_time,
            "warnings": list(entry.warnings),
        }
        values.append(row)
        rows.append(LedgerEntry(**row))
        prev = digest
    if rows:
        for start in range(0, len(values), 1000):
            bulk_insert(LedgerEntry, values[start : start + 1000])
        head_update(LedgerHead, seq=seq, chain_hash=prev)
        head.seq, head.chain_hash = seq, prev
    return rows


def ledger_state(*, as_of_seq: int | None = None) -> LedgerState:
    """Sequence and chain hash of the head, or of the entry at ``as_of_seq``."""
    if as_of_seq is None:
        head = LedgerHead.objects.filter(id=1).first()
        return LedgerState(seq=head.seq, chain_hash=head.chain_hash) if head else LedgerState(0, GENESIS_HASH)
    if as_of_seq == 0:
        return LedgerState(0, GENESIS_HASH)
    row = LedgerEntry.objects.filter(seq__lte=as_of_seq).order_by("-seq").values("seq", "chain_hash").first()
    return LedgerState(row["seq"], row["chain_hash"]) if row else LedgerState(0, GENESIS_HASH)


@dataclass(frozen=True)
class LedgerProblem:
    seq: int
    message: str


@dataclass(frozen=True)
class LedgerVerification:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    problem: LedgerProblem | None = None


def _entries(batch_size: int) -> Iterator[tuple[int, str, datetime, int | None, str, str, str, str]]:
    last = 0
    while True:
        batch = list(
            LedgerEntry.objects.filter(seq__gt=last)
            .order_by("seq")
            .values_list(
                "seq",
                "kind",
                "received_at",
                "producer_id",
                "payload",
                "payload_hash",
                "prev_hash",
                "chain_hash",
            )[:batch_size]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def ledger_verify(*, batch_size: int = 2000) -> LedgerVerification:
    """Recompute every hash in sequence order; report the first entry altered, removed or reordered."""
    prev, expected_seq, count = GENESIS_HASH, 1, 0
    for seq, kind, received_at, producer_id, payload, payload_hash, prev_hash, stored_chain in _entries(batch_size):
        if seq != expected_seq:
            return _failed(count, prev, seq, f"entry #{expected_seq} is missing (next entry is #{seq})")
        if sha256_hex(payload.encode()) != payload_hash:
            return _failed(count, prev, seq, f"entry #{seq}: payload does not match its hash (altered)")
        if prev_hash != prev:
            return _failed(count, prev, seq, f"entry #{seq}: previous-hash link is broken (removed or reordered)")
        recomputed = chain_hash(
            prev_hash=prev,
            seq=seq,
            kind=kind,
            received_at=received_at,
            producer_id=producer_id,
            payload_hash=payload_hash,
        )
        if recomputed != stored_chain:
            return _failed(count, prev, seq, f"entry #{seq}: chain hash does not match its fields (altered)")
        prev, expected_seq, count = stored_chain, seq + 1, count + 1
    head = LedgerHead.objects.filter(id=1).first()
    if head is not None and (head.seq != count or head.chain_hash != prev):
        return _failed(
            count,
            prev,
            count + 1,
            f"ledger head says #{head.seq} but the chain ends at #{count} (entries removed)",
        )
    return LedgerVerification(ok=True, count=count, head_seq=count, head_hash=prev)


def _failed(count: int, prev: str, seq: int, message: str) -> LedgerVerification:
    return LedgerVerification(
        ok=False, count=count, head_seq=count, head_hash=prev, problem=LedgerProblem(seq=seq, message=message)
    )
