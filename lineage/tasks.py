"""The outbox dispatcher: hands ``OutboxMessage`` rows to Celery, never losing one.

The fold writes a row in the transaction that folds the events. Right after commit the web process tries
to publish it (best effort); the ``lineage.dispatch_outbox`` beat task drains whatever is left
every few seconds. A row is marked dispatched only after the broker accepted every task it routes
to, so a broker outage leaves rows pending — and the intake keeps accepting events meanwhile.

Routing is by task *name* (``settings.TRACEMARK_OUTBOX_ROUTES``: topic → task names), so that
lineage does not import the apps that consume its messages. A message may be dispatched twice
(a crash between publish and commit): consumers are idempotent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from celery import current_app, shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from lineage.models import OutboxMessage

logger = logging.getLogger(__name__)
# After a failed publish, the after-commit hook stays quiet this long (the beat drain retries),
# so that a broker outage does not slow every intake request down by a connection timeout.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


@dataclass(frozen=True)
class Dispatch:
    dispatched: int
    pending_error: str = ""


def _routes() -> dict[str, list[str]]:
    return getattr(settings, "TRACEMARK_OUTBOX_ROUTES", {})


def _publish(name: str, payload: dict[str, Any]) -> None:
    """Send the task ``name`` with an outbox message's payload as its keyword arguments.

    Celery also writes a summary of the arguments into the message's headers (what ``celery
    events`` and Flower show); left to itself it builds it with ``saferepr``, which for a fold's
    lists of touched ids took 0.3 to 0.6 ms, a third of the publish. Ours counts the lists instead.
    """
    current_app.send_task(name, kwargs=payload, retry=False, argsrepr="()", kwargsrepr=kwargs_summary(payload))


def kwargs_summary(payload: dict[str, Any]) -> str:
    """``{'seq_from': 7, 'dataset_ids': [3 items]}``: scalars as they are, lists and objects counted."""
    return "{" + ", ".join(f"{key!r}: {_counted(value)}" for key, value in payload.items())[:1000] + "}"


def _counted(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    return repr(value)


def outbox_dispatch(*, limit: int = 200, message_ids: list[int] | None = None) -> Dispatch:
    """Publish pending rows in id order; stop at the first broker error and leave the rest pending.

    On PostgreSQL, ``SKIP LOCKED`` lets several dispatchers drain side by side without waiting
    for or double-sending each other's rows.
    """
    routes = _routes()
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(dispatched_at__isnull=True).order_by("id")
        if message_ids is not None:
            pending = pending.filter(id__in=message_ids)
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        rows = list(pending[:limit])
        sent: list[int] = []
        error = ""
        for row in rows:
            tasks = routes.get(row.topic)
            if tasks is None:
                logger.warning("outbox: no route for topic %r (message %s); left pending", row.topic, row.pk)
                continue
            try:
                for name in tasks:
                    _publish(name, row.payload)
            except Exception as exc:  # kombu and redis raise many types for "broker unreachable"
                error = f"{type(exc).__name__}: {exc}"[:2000]
                OutboxMessage.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=error)
                logger.warning("outbox: broker refused message %s: %s; it stays pending", row.pk, error)
                break
            sent.append(row.pk)
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).update(dispatched_at=timezone.now(), attempts=F("attempts") + 1)
    return Dispatch(dispatched=len(sent), pending_error=error)


class _Refused(Exception):
    """The broker refused a publish (the claim on the message is rolled back)."""


def _dispatch_committed(message_id: int, topic: str, payload: dict[str, Any]) -> Dispatch:
    """Publish a message its writer just committed, without reading it back.

    The claim (``dispatched_at`` set, ``attempts`` counted) is an UPDATE that also locks the row
    until the publish commits, so a drain running meanwhile skips it, and the publish and the claim
    commit or roll back together, as in ``outbox_dispatch``. Plain SQL: this runs after every fold.
    """
    tasks = _routes().get(topic)
    if tasks is None:
        return outbox_dispatch(message_ids=[message_id], limit=1)  # logs the missing route
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    claim = f"UPDATE {table} SET dispatched_at = %s, attempts = attempts + 1 WHERE id = %s AND dispatched_at IS NULL"  # noqa: S608 (no input in it)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(claim, [connection.ops.adapt_datetimefield_value(timezone.now()), message_id])
                if cursor.rowcount != 1:
                    return Dispatch(dispatched=0)  # a drain published it first
            try:
                for name in tasks:
                    _publish(name, payload)
            except Exception as exc:  # kombu and redis raise many types for "broker unreachable"
                raise _Refused(f"{type(exc).__name__}: {exc}"[:2000]) from exc
    except _Refused as refused:
        error = str(refused)
        OutboxMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1, last_error=error)
        logger.warning("outbox: broker refused message %s: %s; it stays pending", message_id, error)
        return Dispatch(dispatched=0, pending_error=error)
    return Dispatch(dispatched=1)


def outbox_dispatch_after_commit(message_id: int, topic: str, payload: dict[str, Any]) -> None:
    """The intake's ``on_commit`` hook: publish one message now if the broker answers.

    ``topic`` and ``payload`` are what the writer just committed: the message is not read back.
    Never raises: the event is committed either way and the beat drain picks up what is left.
    """
    global _broker_down_until
    if not getattr(settings, "TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT", True):
        return
    if time.monotonic() < _broker_down_until:
        return
    try:
        result = _dispatch_committed(message_id, topic, payload)
    except Exception:
        logger.exception("outbox: dispatch after commit failed for message %s; the drain will retry", message_id)
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        return
    if result.pending_error:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS


@shared_task(name="lineage.dispatch_outbox", ignore_result=True, soft_time_limit=50, time_limit=60)
def dispatch_outbox(limit: int = 500) -> int:
    """Drain the outbox. Triggered by celery beat every few seconds.

    Safe to run twice or concurrently: rows are claimed with SKIP LOCKED (PostgreSQL) or under
    SQLite's single writer, and marked dispatched only after the broker accepted them.
    """
    total = 0
    while True:
        result = outbox_dispatch(limit=limit)
        total += result.dispatched
        if result.pending_error or result.dispatched < limit:
            return total


@shared_task(name="lineage.fold_pending", ignore_result=True, soft_time_limit=50, time_limit=60)
def fold_pending() -> int:
    """Fold ledger entries no request has folded (a web process died between append and fold).

    Triggered by celery beat every few seconds; usually finds nothing to do. Safe to run
    concurrently with the intake: folds take turns on the graph head's lock.
    """
    from lineage.services import graph_catch_up  # services imports this module

    done = graph_catch_up()
    if done.folded:
        logger.warning("fold: %s ledger entries were waiting for a fold; folded up to #%s", done.folded, done.head)
    return done.folded
