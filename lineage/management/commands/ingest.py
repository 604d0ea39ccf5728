from __future__ import annotations

import contextlib
import multiprocessing
import queue
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from tqdm import tqdm

from lineage.models import ApiKey
from lineage.replay import CountingReader, Located, expand_paths, iter_events, open_events
from lineage.services import (
    IntakeOutcome,
    PreparedEvents,
    events_append,
    events_prepare,
    events_store,
    graph_catch_up,
)


class Command(BaseCommand):
    help = (
        "Replay OpenLineage events from files or folders (JSON, JSON arrays, NDJSON, .gz) into the "
        "ledger and graph. Exits non-zero if any event was invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--producer", help="Attribute the events to this API key's name.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument("--max-errors", type=int, default=50, help="Invalid events listed in full.")
        parser.add_argument(
            "--prepare-processes",
            type=int,
            default=1,
            help="Helper processes validating the next batches while this one stores (0: validate here).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = expand_paths(options["paths"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        producer = None
        if options["producer"]:
            producer = ApiKey.objects.filter(name=options["producer"]).first()
            if producer is None:
                raise CommandError(f"No API key named {options['producer']!r}.")
        totals = {"accepted": 0, "duplicate": 0, "invalid": 0}
        problems: list[str] = []
        total_bytes = sum(f.stat().st_size for f in files)
        bar = tqdm(
            total=total_bytes,
            unit="B",
            unit_scale=True,
            disable=options["no_progress"],
            desc="ingest",
            file=self.stderr,
        )
        # On PostgreSQL, a second process folds what this one appends, while it appends the next
        # batches (ledger order is kept: appends and folds each go in file order). Inside a
        # transaction (tests) or on SQLite, which has one writer anyway, each batch is stored whole.
        folder = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            folder = _FoldBehind()
        try:
            self._ingest(files, producer, options, folder, bar, totals, problems)
        except _FoldStopped:
            pass  # ``finish`` returns why
        finally:
            error = folder.finish() if folder else None
            bar.close()
        if error is not None:
            raise CommandError(
                f"folding into the graph failed: {error}. The events reported as accepted are in the ledger; "
                "the next intake request or the lineage.fold_pending beat task folds them."
            )
        for line in problems[: options["max_errors"]]:
            self.stderr.write(f"invalid {line}")
        if len(problems) > options["max_errors"]:
            self.stderr.write(f"… and {len(problems) - options['max_errors']} more invalid events")
        self.stdout.write(
            f"{len(files)} file(s): {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
            f"{totals['invalid']} invalid"
        )
        if totals["invalid"]:
            raise CommandError(f"{totals['invalid']} invalid event(s); see above.")

    def _ingest(
        self,
        files: list[Any],
        producer: ApiKey | None,
        options: dict[str, Any],
        folder: _FoldBehind | None,
        bar: Any,
        totals: dict[str, int],
        problems: list[str],
    ) -> None:
        for path in files:
            with path.open("rb") as raw:
                counter = CountingReader(raw)
                done = 0
                batches = _batches(iter_events(path, open_events(path, counter)), options["batch_size"])
                for batch, prepared in _prepared(batches, producer, options["prepare_processes"]):
                    valid = [item for item in batch if item.error is None]
                    for item in batch:
                        if item.error is not None:
                            totals["invalid"] += 1
                            problems.append(f"{item.where}: {item.error}")
                    outcome = _store(prepared, folder)
                    for item, result in zip(valid, outcome.results, strict=True):
                        if result.status in ("accepted", "duplicate"):
                            totals[result.status] += 1
                        else:
                            totals["invalid"] += 1
                            reasons = "; ".join(f"{e.path or '(event)'}: {e.message}" for e in result.errors)
                            problems.append(f"{item.where}: {reasons}")
                    bar.update(counter.count - done)
                    done = counter.count
                    bar.set_postfix(totals)


def _store(prepared: PreparedEvents, folder: _FoldBehind | None) -> IntakeOutcome:
    if folder is None:
        return events_store(prepared)
    outcome, last_seq = events_append(prepared)
    if last_seq is not None:
        folder.fold_upto(last_seq)
    return outcome


class _FoldBehind:
    """A child process that folds what the command appends, in ledger order, as it is appended.

    The fold is the serial part of the intake (~0.8 ms of one core per event) and, like the
    appending side (reading, decoding, appending), mostly Python: in one process the two would
    take turns on the interpreter lock. The child reads the entries back from the ledger. After a
    failure it stops; what it did not fold waits in the ledger for the next fold, as after a crash,
    and the command ends.
    """

    def __init__(self) -> None:
        _close_connections_before_fork()  # forked before the helpers, outside any transaction
        context = multiprocessing.get_context("fork")
        self._targets: multiprocessing.Queue[int | None] = context.Queue()
        self._errors: multiprocessing.Queue[str] = context.Queue()
        self._process = context.Process(target=_fold_upto, args=(self._targets, self._errors), name="ingest-fold")
        self._process.start()
        self._error: str | None = None

    def fold_upto(self, seq: int) -> None:
        if self._failed():
            raise _FoldStopped
        self._targets.put(seq)

    def finish(self) -> str | None:
        """Wait until everything appended is folded; why the fold stopped, if it did."""
        self._targets.put(None)
        self._process.join()
        if not self._failed() and self._process.exitcode != 0:  # joined: what it sent is in the pipe
            self._error = f"the fold process exited with code {self._process.exitcode}"
        return self._error

    def _failed(self) -> bool:
        if self._error is None:
            with contextlib.suppress(queue.Empty):
                self._error = self._errors.get_nowait()
        return self._error is not None


def _fold_upto(targets: multiprocessing.Queue[int | None], errors: multiprocessing.Queue[str]) -> None:
    """The fold process: fold up to each sequence it is sent, the latest of those waiting at once."""
    try:
        upto = targets.get()
        while upto is not None:
            ended = False
            with contextlib.suppress(queue.Empty):  # take along the targets already sent
                while (following := targets.get_nowait()) is not None:
                    upto = following
                ended = True  # the end marker came with them
            graph_catch_up(upto_seq=upto)
            upto = None if ended else targets.get()
    except BaseException as exc:  # the parent reports it and stops appending
        errors.put(f"{type(exc).__name__}: {str(exc).strip()}")
    finally:
        connections.close_all()


class _FoldStopped(Exception):
    """The fold process failed; ``finish`` says why."""


def _prepared(
    batches: Iterator[list[Located]], producer: ApiKey | None, processes: int
) -> Iterator[tuple[list[Located], PreparedEvents]]:
    """Each batch with its readable events prepared (validated, canonical), in file order.

    With helper processes, the next batches are prepared while the caller stores this one: the
    schema validation, a third of the intake's CPU, leaves the process that holds the ledger and
    graph locks. At most two batches per helper wait ahead, so memory stays flat on any file.
    """

    def events(batch: list[Located]) -> list[object]:
        return [item.event for item in batch if item.error is None]

    if processes <= 0:
        for batch in batches:
            yield batch, events_prepare(events=events(batch), producer=producer)
        return
    _close_connections_before_fork()
    ahead: deque[tuple[list[Located], Future[PreparedEvents]]] = deque()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        for batch in batches:
            future = pool.submit(events_prepare, events=events(batch), producer=producer)
            # The parsed events are the helper's now; what waits here keeps only where each came from.
            ahead.append(([replace(item, event=None) for item in batch], future))
            if len(ahead) > 2 * processes:
                first, future = ahead.popleft()
                yield first, future.result()
        while ahead:
            first, future = ahead.popleft()
            yield first, future.result()


def _close_connections_before_fork() -> None:
    """Close this process's database connections, so that no forked child holds one of them.

    A child that closed an inherited connection on exit would end the parent's session. Inside a
    caller's transaction the connection stays open (the forked validating helpers never query).
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def _batches(items: Iterator[Located], size: int) -> Iterator[list[Located]]:
    batch: list[Located] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
