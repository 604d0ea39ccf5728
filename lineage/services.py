"""Write services of the lineage app: producer keys and event intake."""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import logging
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from config.errors import FieldError
from config.metrics import INTAKE_GROUP_SIZE
from lineage.bulk import bulk_insert
from lineage.canonical import NotCanonicalisable, canonical_json, sha256_hex
from lineage.folding import FoldItem, Touched, graph_fold
from lineage.ledger import NewEntry, head_lock, head_update, ledger_append, ledger_lock_head
from lineage.models import ApiKey, FoldFailure, GraphHead, LedgerEntry, OutboxMessage
from lineage.prepared import PreparedRows
from lineage.tasks import outbox_dispatch_after_commit
from lineage.validation import EventInvalid, event_kind, storage_problems, validate_event

logger = logging.getLogger(__name__)

KEY_PREFIX = "tm_"
# Outbox topic written by every fold transaction that folded at least one event.
OUTBOX_GRAPH_CHANGED = "graph.changed"
# last_used_at is refreshed at most this often, so the hot path does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Ledger entries folded per graph transaction: enough to amortise the fold's fixed cost.
FOLD_BATCH = 1000
# A fold chosen as a deadlock victim is tried again this many times before the error goes up.
DEADLOCK_RETRIES = 3


# --- Producer API keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # shown once, never stored


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_issue(*, name: str, namespaces: Sequence[str] = ()) -> IssuedKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, prefix=secret[:10], key_hash=api_key_hash(secret), namespaces=list(namespaces)
    )
    return IssuedKey(api_key=key, secret=secret)


@transaction.atomic
def api_key_revoke(*, name: str) -> ApiKey:
    key = ApiKey.objects.select_for_update().get(name=name)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


_KEY_FIELDS = [f.attname for f in ApiKey._meta.concrete_fields]
# Every intake request reads its key: compiled once per connection (``lineage.prepared``).
_ACTIVE_KEYS_BY_HASH = PreparedRows(
    lambda hashes: ApiKey.objects.active().filter(key_hash__any=hashes).values_list(*_KEY_FIELDS), 1
)


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    rows = _ACTIVE_KEYS_BY_HASH([api_key_hash(secret)])
    if not rows:
        return None
    key = ApiKey.from_db(DEFAULT_DB_ALIAS, _KEY_FIELDS, rows[0])
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Conditional update: concurrent requests do not all write.
        ApiKey.objects.filter(pk=key.pk, last_used_at=key.last_used_at).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_allows(key: ApiKey | None, namespace: str) -> bool:
    if key is None or not key.namespaces:
        return True
    return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in key.namespaces)


# --- Intake ----------------------------------------------------------------------------------------

Status = Literal["accepted", "duplicate", "invalid", "forbidden"]


@dataclass(frozen=True)
class IntakeResult:
    status: Status
    seq: int | None = None
    payload_hash: str | None = None
    kind: str | None = None
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.seq is not None:
            body["seq"] = self.seq
        if self.payload_hash is not None:
            body["hash"] = self.payload_hash
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        if self.warnings:
            body["warnings"] = list(self.warnings)
        return body


@dataclass
class IntakeOutcome:
    results: list[IntakeResult]
    touched: Touched = field(default_factory=Touched)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class _Prepared:
    index: int
    event_type: str  # RunEvent's eventType, else ""
    kind: str
    event_time: datetime
    payload: bytes
    payload_hash: str
    warnings: tuple[str, ...]
    producer_id: int | None = None  # the key that sent it, recorded with its ledger entry


def _event_namespaces(event: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("job", "dataset"):
        node = event.get(key)
        if isinstance(node, dict) and isinstance(node.get("namespace"), str):
            names.add(node["namespace"])
    for key in ("inputs", "outputs"):
        for ds in event.get(key) or []:
            if isinstance(ds, dict) and isinstance(ds.get("namespace"), str):
                names.add(ds["namespace"])
    return names


def _prepare(index: int, event: object, producer: ApiKey | None) -> _Prepared | IntakeResult:
    try:
        checked = validate_event(event)
    except EventInvalid as exc:
        return IntakeResult(
            status="invalid", errors=tuple(FieldError(path=p.path, message=p.message) for p in exc.problems)
        )
    assert isinstance(event, dict)
    denied = sorted(ns for ns in _event_namespaces(event) if not api_key_allows(producer, ns))
    if denied:
        return IntakeResult(
            status="forbidden",
            errors=tuple(FieldError(path="namespace", message=f"not allowed for this key: {ns}") for ns in denied),
        )
    try:
        payload = canonical_json(event)
    except NotCanonicalisable as exc:
        return IntakeResult(status="invalid", errors=(FieldError(path="", message=f"cannot be stored: {exc}"),))
    unstorable = storage_problems(event, payload)
    if unstorable:
        return IntakeResult(
            status="invalid", errors=tuple(FieldError(path=p.path, message=p.message) for p in unstorable)
        )
    return _Prepared(
        index=index,
        event_type=str(event.get("eventType") or "") if checked.kind == "RunEvent" else "",
        kind=checked.kind,
        event_time=checked.event_time,
        payload=payload,
        payload_hash=sha256_hex(payload),
        warnings=checked.warnings,
        producer_id=producer.pk if producer else None,
    )


def events_ingest(
    *, events: Iterable[object], producer: ApiKey | None = None, received_at: datetime | None = None
) -> IntakeOutcome:
    """Validate, append to the ledger and fold into the graph; one result per event, in order.

    Valid events are stored even when others in the same call are not. An event whose canonical
    form is already in the ledger is acknowledged as a duplicate and not stored again.
    """
    return events_store(events_prepare(events=events, producer=producer), received_at=received_at)


@dataclass(frozen=True)
class PreparedEvents:
    """Events validated and in canonical form, not stored yet (``events_prepare``)."""

    results: list[IntakeResult | None]  # the answer for events refused already; None for the others
    prepared: list[_Prepared]


def events_prepare(*, events: Iterable[object], producer: ApiKey | None = None) -> PreparedEvents:
    """The part of the intake that needs no database: validation, namespace grants, canonical JSON.

    Its result pickles small (canonical payloads, not the parsed events), so ``manage.py ingest``
    runs this in a helper process while it stores the previous batch.
    """
    results: list[IntakeResult | None] = []
    prepared: list[_Prepared] = []
    for index, event in enumerate(events):
        item = _prepare(index, event, producer)
        if isinstance(item, IntakeResult):
            results.append(item)
        else:
            results.append(None)
            prepared.append(item)
    return PreparedEvents(results=results, prepared=prepared)


def events_store(batch: PreparedEvents, *, received_at: datetime | None = None) -> IntakeOutcome:
    """Append prepared events to the ledger and fold them; one result per event given to ``events_prepare``.

    Outside a transaction, concurrent calls in one process are stored together (``GroupCommit``):
    one append and one fold for the events of every request waiting at that moment. Each call still
    returns only once its own events are in the ledger and folded. Each prepared event carries the
    key it was prepared for.
    """
    if not batch.prepared:
        return _outcome(batch, {}, Touched())
    if received_at is None and settings.TRACEMARK_GROUP_COMMIT and not connection.in_atomic_block:
        stored, touched = _group_commit.store(batch.prepared)
    else:
        stored, touched = _store(batch.prepared, received_at or timezone.now())
    return _outcome(batch, stored, touched)


def _outcome(batch: PreparedEvents, stored: dict[int, IntakeResult], touched: Touched) -> IntakeOutcome:
    """The batch's answers in order: those ``events_prepare`` gave already, and the stored ones by index."""
    results = [stored[index] if result is None else result for index, result in enumerate(batch.results)]
    return IntakeOutcome(results=results, touched=touched)


def _store(prepared: list[_Prepared], received_at: datetime) -> tuple[dict[int, IntakeResult], Touched]:
    appended = _append_for_fold(prepared, received_at)
    touched = Touched()
    if appended.last_seq is not None:
        touched = graph_catch_up(upto_seq=appended.last_seq, appended=appended.items).touched
    return appended.results, touched


def events_append(batch: PreparedEvents) -> tuple[IntakeOutcome, int | None]:
    """The first half of ``events_store``: append to the ledger and leave the fold to the caller.

    Returns the outcome (nothing touched yet) and the last sequence appended (None when every
    event was a duplicate or refused). For a pipeline that folds behind its appends
    (``manage.py ingest``): ``graph_catch_up(upto_seq=…)`` folds them, in ledger order; what it
    never folds is folded by the next request or the ``lineage.fold_pending`` beat task, as after
    a crash.
    """
    if not batch.prepared:
        return _outcome(batch, {}, Touched()), None
    stored, last_seq = _append(batch.prepared, timezone.now())
    return _outcome(batch, stored, Touched()), last_seq


@dataclass(frozen=True)
class _Appended:
    results: dict[int, IntakeResult]  # by the index the event had in its batch
    items: dict[int, FoldItem]  # the accepted ones by sequence, for ``graph_catch_up(appended=…)``
    last_seq: int | None  # the last accepted sequence; None when every event was a duplicate


def _append_for_fold(prepared: list[_Prepared], received_at: datetime) -> _Appended:
    # Parsed here, before either head is locked: the fold reads these instead of the ledger rows.
    events = [orjson.loads(p.payload) for p in prepared]
    results, last_seq = _append(prepared, received_at)
    items: dict[int, FoldItem] = {}
    for p, event in zip(prepared, events, strict=True):
        result = results[p.index]
        if result.status == "accepted" and result.seq is not None:  # an accepted event has its sequence
            items[result.seq] = FoldItem(
                seq=result.seq, kind=p.kind, event=event, event_time=p.event_time, received_at=received_at
            )
    return _Appended(results=results, items=items, last_seq=last_seq)


class _Ticket:
    """One caller's events waiting in a ``GroupCommit``."""

    def __init__(self, prepared: list[_Prepared]) -> None:
        self.prepared = prepared
        self.ready = threading.Event()
        self.lead = False  # set by the previous leader: this caller stores the next group
        self.results: dict[int, IntakeResult] = {}
        self.touched = Touched()
        self.error: BaseException | None = None


class GroupCommit:
    """Stores the events of concurrent callers in one process together (group commit).

    A single event costs about thirty statements in three transactions (append, fold, outbox
    claim) whether it travels alone or with others, so the cost of a request is mostly fixed. The
    first caller to arrive becomes the leader: it takes every ticket queued (its own included, up
    to ``max_events``), stores them in one ``_store`` call, hands each caller its results, and
    passes the lead to the first caller that queued meanwhile. Nothing is acknowledged before it is
    folded, and an error reaches every caller of the group (nothing of it was committed, or, if the
    append committed and the fold failed, the fold is retried like after any crash).

    Requests announce themselves when they start (``expecting``, around the whole intake view:
    authentication, reading, validation). A leader waits, at most ``TRACEMARK_GROUP_COMMIT_WAIT_MS``, for the
    requests it knows are on their way, like PostgreSQL's ``commit_delay`` with ``commit_siblings``:
    otherwise, with clients that send again as soon as they are answered, the first to come back
    would store alone and the others would queue behind it. A caller alone does not wait.
    """

    def __init__(self, *, max_events: int = FOLD_BATCH) -> None:
        self.max_events = max_events
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: deque[_Ticket] = deque()
        self._leading = False
        self._expected = 0  # callers inside ``expecting`` that have not queued yet
        self._local = threading.local()

    @contextmanager
    def expecting(self) -> Iterator[None]:
        """Announce a caller that is about to ``store`` (the leader may wait for it)."""
        with self._lock:
            self._expected += 1
        self._local.expected = True
        try:
            yield
        finally:
            self._arrive()

    def _arrive(self) -> None:
        if getattr(self._local, "expected", False):
            self._local.expected = False
            with self._lock:
                self._expected -= 1
                self._arrived.notify_all()

    def store(self, prepared: list[_Prepared]) -> tuple[dict[int, IntakeResult], Touched]:
        ticket = _Ticket(prepared)
        self._arrive()
        with self._lock:
            self._queue.append(ticket)
            ticket.lead = not self._leading
            self._leading = True
            self._arrived.notify_all()
        if not ticket.lead:
            ticket.ready.wait()
        if ticket.lead:
            self._lead()
        if ticket.error is not None:
            try:
                clone = copy.copy(ticket.error)
            except Exception:  # one that cannot be copied is raised as it is
                raise ticket.error from None
            raise clone from ticket.error
        return ticket.results, ticket.touched

    def _lead(self) -> None:
        deadline = time.monotonic() + settings.TRACEMARK_GROUP_COMMIT_WAIT_MS / 1000
        with self._lock:
            while self._expected > 0 and sum(len(t.prepared) for t in self._queue) < self.max_events:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            group = [self._queue.popleft()]
            size = len(group[0].prepared)
            while self._queue and size + len(self._queue[0].prepared) <= self.max_events:
                size += len(self._queue[0].prepared)
                group.append(self._queue.popleft())
        INTAKE_GROUP_SIZE.observe(size)
        try:
            self._store_group(group)
        except BaseException as exc:
            for ticket in group:
                ticket.error = exc
            raise
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].ready.set()
                else:
                    self._leading = False
            for ticket in group[1:]:
                ticket.ready.set()

    @staticmethod
    def _store_group(group: list[_Ticket]) -> None:
        # Number the events of the group consecutively; each ticket's own indexes map back.
        combined: list[_Prepared] = []
        owners: list[tuple[_Ticket, int]] = []
        for ticket in group:
            for item in ticket.prepared:
                owners.append((ticket, item.index))
                combined.append(replace(item, index=len(combined)))
        stored, touched = _store(combined, timezone.now())
        for index, (ticket, own_index) in enumerate(owners):
            ticket.results[own_index] = stored[index]
        for ticket in group:
            ticket.touched = touched


_group_commit = GroupCommit()


def intake_expecting() -> Any:
    """Context for an intake request from its start: ``events_store`` may wait briefly for it."""
    return _group_commit.expecting()


@transaction.atomic
def _append(prepared: list[_Prepared], received_at: datetime) -> tuple[dict[int, IntakeResult], int | None]:
    """Append the events that are not in the ledger yet; the head stays locked only for this."""
    head = ledger_lock_head()
    known = _events_in_ledger({p.payload_hash for p in prepared})
    results: dict[int, IntakeResult] = {}
    fresh: list[_Prepared] = []
    for p in prepared:
        if p.payload_hash in known:
            results[p.index] = IntakeResult(
                status="duplicate", seq=known[p.payload_hash], payload_hash=p.payload_hash, kind=p.kind
            )
            continue
        known[p.payload_hash] = -1  # a repeat later in this same batch is a duplicate too
        fresh.append(p)
    rows = ledger_append(
        head=head,
        entries=[
            NewEntry(
                kind=LedgerEntry.Kind.EVENT,
                payload=p.payload,
                payload_hash=p.payload_hash,
                producer_id=p.producer_id,
                event_type=p.event_type,
                event_time=p.event_time,
                warnings=p.warnings,
            )
            for p in fresh
        ],
        received_at=received_at,
    )
    for p, row in zip(fresh, rows, strict=True):
        known[p.payload_hash] = row.seq
        results[p.index] = IntakeResult(
            status="accepted", seq=row.seq, payload_hash=p.payload_hash, kind=p.kind, warnings=p.warnings
        )
    for p in prepared:  # fill in the seq of in-batch duplicates
        r = results[p.index]
        if r.status == "duplicate" and r.seq == -1:
            results[p.index] = IntakeResult(
                status="duplicate", seq=known[p.payload_hash], payload_hash=p.payload_hash, kind=p.kind
            )
    return results, (rows[-1].seq if rows else None)


def _events_in_ledger(hashes: set[str]) -> dict[str, int]:
    """The sequence of each of these payload hashes already in the ledger as an event.

    Plain SQL (it runs on every append, under the ledger head's lock); ``kind`` is written out so
    PostgreSQL matches the partial unique index on event payload hashes. Not a ``PreparedRows``:
    a prepared statement's generic plan, with ``kind`` as a parameter, could not use that index.
    """
    quote, found = connection.ops.quote_name, {}
    table = quote(LedgerEntry._meta.db_table)
    ordered = sorted(hashes)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 1000):
            chunk = ordered[start : start + 1000]
            if connection.vendor == "postgresql":
                where, params = "payload_hash = ANY(%s)", [chunk]
            else:
                where, params = f"payload_hash IN ({', '.join(['%s'] * len(chunk))})", chunk
            kind = LedgerEntry.Kind.EVENT.value
            # Only the placeholders vary; the table and kind are ours.
            cursor.execute(f"SELECT payload_hash, seq FROM {table} WHERE kind = '{kind}' AND {where}", params)  # noqa: S608
            found.update(cursor.fetchall())
    return found


# --- Folding the ledger into the graph ------------------------------------------------------------


@dataclass
class CatchUp:
    folded: int = 0  # events folded by this call
    head: int = 0  # the graph head after it
    failed: list[int] = field(default_factory=list)  # sequences that could not be folded
    touched: Touched = field(default_factory=Touched)


def graph_catch_up(
    *, upto_seq: int | None = None, batch_size: int = FOLD_BATCH, appended: Mapping[int, FoldItem] | None = None
) -> CatchUp:
    """Fold the ledger entries the graph has not folded yet, in sequence order, a batch at a time.

    The intake calls this right after its append commits and answers once its events are folded,
    so a 2xx still means "in the graph". The graph head's lock makes callers take turns: whoever
    holds it folds *everything* pending — the events of every request that appended meanwhile —
    in one batch, and the requests behind it find their events already folded. Under load, one
    fold serves many requests; the ledger head is never held during a fold.

    With ``upto_seq`` it returns as soon as the graph has folded that far; without, once nothing
    is pending (the ``lineage.fold_pending`` beat task, after a crash between append and fold).
    Each batch is its own transaction, with its ``graph.changed`` outbox message.

    ``appended`` holds, by sequence, the entries the caller has just appended, as it would read them
    back (the event parsed from its canonical payload): when the graph head is right before them,
    they are folded without reading the ledger (the rows and their parsing were a quarter of a
    batch's time under the lock). Otherwise — entries of a request that died are pending first —
    the batch is read from the ledger as usual.
    """
    done = CatchUp()
    while True:
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                finished = _fold_next_batch(done, upto_seq, batch_size, appended or {})
                break
            except OperationalError as exc:
                # A deadlock victim's transaction was rolled back whole: nothing of it is stored,
                # so it is safe to try again (PostgreSQL names the victim; the other side goes on).
                if getattr(exc.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES:
                    raise
                if transaction.get_connection().in_atomic_block:
                    raise  # inside a caller's transaction: only the caller can retry
                logger.warning("fold: deadlock, retrying (attempt %s): %s", attempt + 1, str(exc).splitlines()[0])
                time.sleep(0.02 * (attempt + 1))
        if finished:
            return done


def _fold_next_batch(done: CatchUp, upto_seq: int | None, batch_size: int, appended: Mapping[int, FoldItem]) -> bool:
    """Fold the next batch in one transaction and add it to ``done``; True when there is no more to do."""
    with transaction.atomic():
        head_seq = _lock_graph_head()
        done.head = head_seq
        if upto_seq is not None and head_seq >= upto_seq:
            return True
        items: list[FoldItem] = []
        if head_seq + 1 in appended:  # one append: consecutive sequences
            while head_seq + 1 + len(items) in appended and len(items) < batch_size:
                items.append(appended[head_seq + 1 + len(items)])
            last_seq = items[-1].seq
        else:
            rows = list(
                LedgerEntry.objects.filter(seq__gt=head_seq)
                .order_by("seq")
                .values_list("seq", "kind", "payload", "event_time", "received_at")[:batch_size]
            )
            if not rows:
                return True
            items = [
                FoldItem(seq=seq, kind=event_kind(event), event=event, event_time=event_time, received_at=received_at)
                for seq, kind, payload, event_time, received_at in rows
                if kind == LedgerEntry.Kind.EVENT
                for event in (orjson.loads(payload),)
            ]
            last_seq = rows[-1][0]
        touched, failed = _fold_isolating_failures(items)
        head_update(GraphHead, seq=last_seq, updated_at=connection.ops.adapt_datetimefield_value(timezone.now()))
        folded = [item for item in items if item.seq not in failed]
        if folded:
            payload = {
                "seq_from": folded[0].seq,
                "seq_to": folded[-1].seq,
                "dataset_ids": sorted(touched.dataset_ids),
                "job_ids": sorted(touched.job_ids),
                "run_ids": sorted(touched.run_ids),
            }
            row = {"topic": OUTBOX_GRAPH_CHANGED, "payload": payload, "created_at": timezone.now()}
            row |= {"dispatched_at": None, "attempts": 0, "last_error": ""}
            ((message_id,),) = bulk_insert(OutboxMessage, [row], returning=["id"])
            # Publish it as soon as the fold commits; the beat drain retries if this fails.
            transaction.on_commit(partial(outbox_dispatch_after_commit, message_id, OUTBOX_GRAPH_CHANGED, payload))
    done.head = last_seq
    done.folded += len(folded)
    done.failed.extend(sorted(failed))
    done.touched.dataset_ids |= touched.dataset_ids
    done.touched.job_ids |= touched.job_ids
    done.touched.run_ids |= touched.run_ids
    return upto_seq is not None and done.head >= upto_seq


def _lock_graph_head() -> int:
    """Lock the graph head; its sequence (0 on a flushed database, whose ledger is empty too)."""
    (seq,) = head_lock(GraphHead, ("seq",), GraphHead(id=1, seq=0))
    return seq


def _fold_isolating_failures(items: list[FoldItem]) -> tuple[Touched, set[int]]:
    """Fold the batch; if it fails for a reason other than the database being unreachable, fold
    its events one at a time and set aside (``FoldFailure``, logged) those that still fail."""
    try:
        with transaction.atomic():
            return graph_fold(items), set()
    except (OperationalError, InterfaceError):
        raise  # the database is down or the connection broke: nothing to set aside, retry later
    except Exception:
        if len(items) == 1:
            item = items[0]
            logger.exception("fold: ledger entry #%s could not be folded; the graph skips it", item.seq)
            FoldFailure.objects.update_or_create(
                seq=item.seq, defaults={"error": traceback.format_exc(limit=20)[-20000:]}
            )
            return Touched(), {item.seq}
    touched, failed = Touched(), set()
    for item in items:
        one, bad = _fold_isolating_failures([item])
        touched.dataset_ids |= one.dataset_ids
        touched.job_ids |= one.job_ids
        touched.run_ids |= one.run_ids
        failed |= bad
    return touched, failed


# --- Governance decisions ------------------------------------------------------------------------


@transaction.atomic
def governance_record(*, action: str, subject: str, actor: str, details: dict[str, Any]) -> LedgerEntry:
    """Append a governance decision (classification change, waiver, approval, report issuance)."""
    payload = canonical_json(
        {
            "action": action,
            "subject": subject,
            "actor": actor,
            "details": details,
            "at": timezone.now().isoformat(),
        }
    )
    head = ledger_lock_head()
    (entry,) = ledger_append(
        head=head,
        entries=[NewEntry(kind=LedgerEntry.Kind.GOVERNANCE, payload=payload, payload_hash=sha256_hex(payload))],
        received_at=timezone.now(),
    )
    return entry
