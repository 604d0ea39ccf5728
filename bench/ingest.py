"""Intake benchmark: single-event POSTs, the batch endpoint, ``manage.py ingest`` and its memory.

    .venv/bin/python bench/ingest.py                 # full run (~100k events, 1 GB file)
    .venv/bin/python bench/ingest.py --quick         # smaller sizes, a sanity run of every phase

On PostgreSQL (``DATABASE_URL=postgres://…`` with the right to create databases; without it a
throwaway server is started with ``.ci/services.sh``) and a real gunicorn (``config.wsgi``), each
figure is printed beside its floor:

- single events: closed-loop clients on keep-alive sockets POST one event per request to
  ``/api/v1/lineage``; the floor is the same server answering ``/bench/noop`` (parse the JSON body,
  answer 201), served only by the bench settings (``bench.settings_bench``);
- batch endpoint and ``manage.py ingest``: the same N realistic events; the floor is PostgreSQL
  ``COPY`` of the same NDJSON lines into an unindexed one-column table;
- peak RSS of ``manage.py ingest`` on a generated 1 GB NDJSON file (deleted afterwards).

Every phase runs on its own copy of a freshly migrated template database; all are dropped at the end
unless ``--keep-db``. See bench/README.md for the figures and how to read them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h
from bench.http_load import SingleResult, SingleSpec, cpu_seconds, run_batches, run_single
from bench.olgen import World

DB_PREFIX = "tracemark_bench"
TARGET_SINGLE_RATIO = 0.40
TARGET_BATCH_RATE = 3000.0
TARGET_PEAK_RSS = 300e6
DEFAULT_CONFIGS = ("sync:3", "gthread:2x4", "gthread:3x4", "gthread:2x8")


@dataclass
class Options:
    events: int
    rss_bytes: int
    rss_seconds: float
    duration: float
    warmup: float
    clients: int
    batch_clients: int
    batch_size: int
    configs: list[h.ServerConfig]
    phases: set[str]
    keep_db: bool
    db_prefix: str
    tmpdir: str | None
    profile_dir: Path | None
    json_path: Path | None
    timeout: float
    wait_quiet: float
    ingest_debug: bool
    quick: bool


@dataclass
class Report:
    machine: dict[str, str] = field(default_factory=dict)
    postgres: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    single: list[dict[str, Any]] = field(default_factory=list)
    batch: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    copy_floor: dict[str, Any] = field(default_factory=dict)
    rss: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- Phases -------------------------------------------------------------------------------------


class IntakeBench:
    def __init__(self, server_url: str, options: Options) -> None:
        self.url = server_url
        self.opt = options
        self.report = Report()
        self.world = World()
        self.databases: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="tracemark-bench-", dir=options.tmpdir))
        self.token = ""
        self.prefix = options.db_prefix
        self.template = f"{self.prefix}_template"

    # setup / teardown

    def setup(self) -> None:
        self.report.machine = h.machine_facts()
        url = h.create_database(self.url, self.template)
        self.databases.append(self.template)
        h.manage(url, "migrate", "--no-input", timeout=600)
        self.token = h.manage(url, "issue_api_key", "bench-producer", "--quiet").strip()
        self.report.postgres = h.server_facts(url)

    def fresh_db(self, phase: str) -> str:
        name = f"{self.prefix}_{phase}"
        self.databases.append(name)
        return h.create_database(self.url, name, template=self.template)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.opt.keep_db:
            return
        for name in reversed(self.databases):
            with contextlib.suppress(Exception):
                h.drop_database(self.url, name)

    def settle(self) -> None:
        """Give other work on a shared machine a chance to finish before a phase (``--wait-quiet``)."""
        if self.opt.wait_quiet > 0:
            h.wait_for_quiet(self.opt.wait_quiet)

    def account(self) -> h.CpuAccount:
        return h.CpuAccount(self.prefix)

    def background(self, label: str, account: h.CpuAccount) -> float:
        share = account.others_share
        if share > 0.10:
            self.report.notes.append(
                f"{label}: other work used {share:.0%} of the machine's CPU during the measurement; "
                "figures are lower than on an idle machine."
            )
        return round(share, 3)

    # 1. single-event POSTs

    def single(self) -> None:
        for config in self.opt.configs:
            db = self.fresh_db("single")
            with h.Gunicorn(config, db) as server:
                self.settle()
                with self.account() as floor_cpu:
                    floor = self._single_run(server, "/bench/noop")
                self.settle()
                before = cpu_seconds(server.worker_pids())
                with self._profiling(f"single-{config.label}", server), self.account() as intake_cpu:
                    intake = self._single_run(server, "/api/v1/lineage")
                worker_cpu = cpu_seconds(server.worker_pids()) - before
            stored = h.scalar(db, "SELECT count(*) FROM lineage_ledgerentry WHERE kind = 'event'")
            # One graph.changed message per fold transaction: how many events a fold shared (its
            # fixed cost, ~26 statements with the append, is what single events mostly pay).
            folds = h.scalar(db, "SELECT count(*) FROM lineage_outboxmessage WHERE topic = 'graph.changed'")
            entry = {
                "config": config.label,
                "floor": floor.as_dict(),
                "intake": intake.as_dict(),
                "ratio": intake.rate / floor.rate if floor.rate else None,
                "stored": stored,
                "events_per_fold": round(int(stored or 0) / int(folds), 2) if folds else None,
                "worker_cpu_ms_per_event": round(1000 * worker_cpu / max(1, intake.requests), 2),
                "background": {
                    "floor": self.background(f"floor on {config.label}", floor_cpu),
                    "intake": self.background(f"intake on {config.label}", intake_cpu),
                },
                "cpu_ms": {
                    "floor": _cpu_ms(floor_cpu, floor.requests),
                    "intake": _cpu_ms(intake_cpu, intake.requests),
                },
            }
            self.report.single.append(entry)
            print(
                f"  single {config.label:<14} floor {floor.rate:8,.0f} req/s   intake {intake.rate:7,.0f} ev/s"
                f"   p50 {h.fmt_ms(intake.p50)}  p95 {h.fmt_ms(intake.p95)}   ratio {entry['ratio']:.1%}"
                f"   {entry['events_per_fold']} events/fold",
                file=sys.stderr,
            )
            self._drop(db)

    def _single_run(self, server: h.Gunicorn, path: str) -> SingleResult:
        spec = SingleSpec(
            port=server.port,
            path=path,
            token=self.token,
            clients=self.opt.clients,
            duration=self.opt.duration,
            warmup=self.opt.warmup,
            max_requests=max(self.opt.events, 1000) * 10,
        )
        result = run_single(spec, self.world)
        if result.errors or result.ok != result.requests:
            self.report.notes.append(
                f"{path} on {server.config.label}: {result.requests - result.ok} non-2xx answers "
                f"{dict(result.statuses)}, {result.errors} connection errors"
            )
        return result

    # 2. batch endpoint, manage.py ingest, COPY floor — on the same NDJSON file

    def events_file(self) -> Path:
        path = self.tmp / f"events-{self.opt.events}.ndjson"
        if not path.exists():
            write_ndjson(path, self.world, events=self.opt.events)
        return path

    def batch(self) -> None:
        path = self.events_file()
        config = self.best_config()
        db = self.fresh_db("batch")
        size = self.opt.batch_size

        def load() -> list[bytes]:
            return list(ndjson_chunks(path, size))

        with h.Gunicorn(config, db) as server, self._profiling("batch", server):
            self.settle()
            with self.account() as cpu:
                result = run_batches(
                    server.port,
                    self.token,
                    load,
                    events=self.opt.events,
                    clients=self.opt.batch_clients,
                    timeout=self.opt.timeout,
                )
        stored = h.scalar(db, "SELECT count(*) FROM lineage_ledgerentry WHERE kind = 'event'")
        self.report.batch = {
            "config": config.label,
            "clients": self.opt.batch_clients,
            "batch_size": size,
            "stored": stored,
            "background": self.background("batch", cpu),
            "cpu_ms": _cpu_ms(cpu, self.opt.events),
            **result.as_dict(),
        }
        self._check_stored("batch", stored)
        print(f"  batch  {result.rate:8,.0f} ev/s  ({result.seconds:.1f} s)", file=sys.stderr)
        self._drop(db)

    def ingest(self) -> None:
        path = self.events_file()
        db = self.fresh_db("ingest")
        self.settle()
        with self.account() as cpu:
            run = self._ingest_command(db, path, "ingest")
        stored = h.scalar(db, "SELECT count(*) FROM lineage_ledgerentry WHERE kind = 'event'")
        self.report.ingest = {
            "events": self.opt.events,
            "file_bytes": path.stat().st_size,
            "seconds": round(run.wall, 3),
            "rate": round(self.opt.events / run.wall, 1),
            "peak_rss": run.peak_rss,
            "stored": stored,
            "returncode": run.returncode,
            "background": self.background("ingest", cpu),
            "cpu_ms": _cpu_ms(cpu, self.opt.events),
            "summary": run.stdout.strip().splitlines()[-1:] or [run.stderr.strip()[-300:]],
        }
        self._check_stored("ingest", stored)
        print(f"  ingest {self.opt.events / run.wall:8,.0f} ev/s  ({run.wall:.1f} s)", file=sys.stderr)
        self._drop(db)

    def copy_floor(self) -> None:
        import psycopg

        path = self.events_file()
        self.settle()
        name = f"{self.prefix}_copy"
        self.databases.append(name)
        url = h.create_database(self.url, name)
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("CREATE TABLE raw_events (payload text NOT NULL)")
            conn.commit()
            with self.account() as cpu:
                started = time.perf_counter()
                with conn.cursor() as cur, cur.copy("COPY raw_events (payload) FROM STDIN") as copy:
                    for block in raw_blocks(path):
                        # COPY's text format: one row per line; backslashes are its escape character.
                        copy.write(block.replace(b"\\", b"\\\\"))
                conn.commit()
                seconds = time.perf_counter() - started
            rows = conn.execute("SELECT count(*) FROM raw_events").fetchone()[0]
        self.report.copy_floor = {
            "events": rows,
            "seconds": round(seconds, 3),
            "rate": round(rows / seconds, 1),
            "table": "raw_events (payload text), no index, COPY text format",
            "background": self.background("copy", cpu),
            "cpu_ms": _cpu_ms(cpu, rows),
        }
        print(f"  COPY   {rows / seconds:8,.0f} ev/s  ({seconds:.1f} s)", file=sys.stderr)
        self._drop(name)

    # 3. memory of manage.py ingest on a large file

    def rss(self) -> None:
        path = self.tmp / "big.ndjson"
        events = write_ndjson(path, self.world, target_bytes=self.opt.rss_bytes, stream=50)
        size = path.stat().st_size
        db = self.fresh_db("rss")
        self.settle()
        try:
            with self.account() as cpu:
                run = self._ingest_command(db, path, "rss", timeout=self.opt.rss_seconds)
        finally:
            path.unlink(missing_ok=True)
        stopped = run.returncode == -signal.SIGKILL and run.wall >= self.opt.rss_seconds
        stored = h.scalar(db, "SELECT count(*) FROM lineage_ledgerentry WHERE kind = 'event'")
        trace = [
            {"at": round(at / run.wall, 2), "rss": rss}
            for at, rss in _spread(run.samples, [0.1, 0.25, 0.5, 0.75, 0.9, 1.0], run.wall)
        ]
        self.report.rss = {
            "file_bytes": size,
            "events": events,
            "stored": stored,
            "seconds": round(run.wall, 1),
            "rate": round(int(stored or 0) / run.wall, 1),
            "peak_rss": run.peak_rss,
            "trace": trace,
            "returncode": run.returncode,
            "stopped_after": self.opt.rss_seconds if stopped else None,
            "background": self.background("rss", cpu),
        }
        if stopped:
            self.report.notes.append(
                f"rss: stopped after {self.opt.rss_seconds:.0f} s (--rss-seconds) with {stored:,} of {events:,} "
                "events stored; the peak RSS is over that part of the file"
            )
        elif stored != events:
            self.report.notes.append(f"rss: {stored} of {events} events stored")
        print(f"  rss    peak {h.fmt_mb(run.peak_rss)} on {size / 1e9:.2f} GB", file=sys.stderr)
        self._drop(db)

    def _ingest_command(self, db: str, path: Path, label: str, timeout: float | None = None) -> h.ChildRun:
        cmd = [h.PYTHON, str(h.ROOT / "manage.py"), "ingest", str(path), "--no-progress"]
        if self.opt.profile_dir:
            spy = shutil.which("py-spy") or str(h.VENV_BIN / "py-spy")
            out = self.opt.profile_dir / f"{label}.collapsed.txt"
            cmd = [spy, "record", "--rate", "97", "--format", "raw", "--output", str(out), "--", *cmd]
        env = h.django_env(db, DEBUG="1" if self.opt.ingest_debug else "0")
        limit = min(self.opt.timeout, timeout or self.opt.timeout)
        run = h.run_measured(cmd, env=env, timeout=limit)
        if run.returncode != 0 and not (run.returncode == -signal.SIGKILL and run.wall >= limit):
            self.report.notes.append(f"{label}: manage.py ingest exited {run.returncode}: {run.stderr[-500:]}")
        return run

    # helpers

    def best_config(self) -> h.ServerConfig:
        if not self.report.single:
            return self.opt.configs[0]
        best = max(self.report.single, key=lambda s: s["intake"]["rate"])
        return next(c for c in self.opt.configs if c.label == best["config"])

    def _check_stored(self, phase: str, stored: object) -> None:
        if stored != self.opt.events:
            self.report.notes.append(f"{phase}: {stored} of {self.opt.events} events stored")

    def _drop(self, name_or_url: str) -> None:
        if self.opt.keep_db:
            return
        name = name_or_url.rsplit("/", 1)[-1]
        with contextlib.suppress(Exception):
            h.drop_database(self.url, name)

    @contextlib.contextmanager
    def _profiling(self, label: str, server: h.Gunicorn) -> Iterator[None]:
        """py-spy on the gunicorn master and its workers while the block runs (``--profile``)."""
        if not self.opt.profile_dir or server.process is None:
            yield
            return
        spy = shutil.which("py-spy") or str(h.VENV_BIN / "py-spy")
        out = self.opt.profile_dir / f"{label.replace(' ', '_').replace('=', '')}.collapsed.txt"
        # --nonblocking: pausing a worker that holds the ledger lock would stall all the others.
        cmd = [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--nonblocking",
            "--gil",
            "--rate",
            "97",
        ]
        proc = subprocess.Popen(
            [*cmd, "--format", "raw", "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)  # py-spy writes its output and exits
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- Files --------------------------------------------------------------------------------------


def write_ndjson(
    path: Path, world: World, *, events: int | None = None, target_bytes: int | None = None, stream: int = 0
) -> int:
    """Stream-write events (a count, or until ``target_bytes``); return how many were written."""
    written = size = 0
    budget = events if events is not None else 10**9
    with path.open("wb", buffering=1 << 20) as out:
        for line in world.ndjson(budget, stream=stream):
            out.write(line)
            written += 1
            size += len(line)
            if target_bytes is not None and size >= target_bytes:
                break
    return written


def raw_blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(size):
            yield block


def ndjson_chunks(path: Path, size: int) -> Iterator[bytes]:
    lines: list[bytes] = []
    with path.open("rb") as fh:
        for line in fh:
            lines.append(line)
            if len(lines) >= size:
                yield b"".join(lines)
                lines = []
    if lines:
        yield b"".join(lines)


def _spread(samples: Sequence[tuple[float, int]], points: Sequence[float], wall: float) -> list[tuple[float, int]]:
    out = []
    for point in points:
        at = point * wall
        before = [s for s in samples if s[0] <= at]
        if before:
            out.append(before[-1])
    return out


# --- Report -------------------------------------------------------------------------------------


def render(report: Report) -> str:
    m, pg = report.machine, report.postgres
    lines = [
        "Tracemark intake benchmark",
        f"  machine   {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory')} RAM, Linux {m.get('kernel')}",
        f"  software  Python {m.get('python')}, Django {m.get('django')}, gunicorn {m.get('gunicorn')}, "
        f"psycopg {m.get('psycopg')}, PostgreSQL {pg.get('server_version')} "
        f"(fsync={pg.get('fsync')}, synchronous_commit={pg.get('synchronous_commit')}, "
        f"shared_buffers={pg.get('shared_buffers')})",
        f"  code      commit {m.get('commit')}",
        f"  workload  {report.options.get('workload')}",
        "",
    ]
    rows: list[list[str]] = []
    if report.single:
        best = max(report.single, key=lambda s: s["intake"]["rate"])
        fl, it = best["floor"], best["intake"]
        rows.append(
            [
                f"single POST /api/v1/lineage ({best['config']}, {it['clients']} clients)",
                f"{it['rate']:,.0f} ev/s",
                f"{fl['rate']:,.0f} req/s  (/bench/noop)",
                f"{best['ratio']:.1%}",
                f">= {TARGET_SINGLE_RATIO:.0%} of floor",
                _met(best["ratio"] >= TARGET_SINGLE_RATIO),
                _share(best["background"]["intake"]),
                f"{_cpu(best['cpu_ms']['intake'])} / {_cpu(best['cpu_ms']['floor'])} (floor)",
            ]
        )
        rows.append(
            [
                "  latency p50 / p95",
                f"{it['p50_ms']:.1f} / {it['p95_ms']:.1f} ms",
                f"{fl['p50_ms']:.1f} / {fl['p95_ms']:.1f} ms",
                "",
                "",
                "",
                _share(best["background"]["floor"]) + " (floor)",
                "",
            ]
        )
    copy_rate = report.copy_floor.get("rate")
    for label, data in (
        (f"batch POST /api/v1/lineage/batch ({report.batch.get('batch_size')}/request)", report.batch),
        ("manage.py ingest (NDJSON file)", report.ingest),
    ):
        if data:
            rows.append(
                [
                    label,
                    f"{data['rate']:,.0f} ev/s",
                    f"{copy_rate:,.0f} ev/s  (COPY)" if copy_rate else "—",
                    f"{data['rate'] / copy_rate:.1%}" if copy_rate else "—",
                    f">= {TARGET_BATCH_RATE:,.0f} ev/s",
                    _met(data["rate"] >= TARGET_BATCH_RATE),
                    _share(data.get("background")),
                    f"{_cpu(data.get('cpu_ms'))} / {_cpu(report.copy_floor.get('cpu_ms'))} (COPY)",
                ]
            )
    if report.rss:
        r = report.rss
        rows.append(
            [
                f"ingest peak RSS ({r['file_bytes'] / 1e9:.2f} GB NDJSON, {r['events']:,} events)",
                h.fmt_mb(r["peak_rss"]),
                "—",
                "—",
                f"< {TARGET_PEAK_RSS / 1e6:.0f} MB",
                _met(r["peak_rss"] < TARGET_PEAK_RSS),
                _share(r.get("background")),
                "",
            ]
        )
    lines.append(h.table(rows, ["measure", "figure", "floor", "ratio", "target", "met", "other CPU", "CPU/event"]))
    if len(report.single) > 1:
        lines += ["", "single-event POSTs by gunicorn shape (same clients, same bodies):"]
        lines.append(
            h.table(
                [
                    [
                        s["config"],
                        f"{s['floor']['rate']:,.0f} req/s",
                        f"{s['floor']['p50_ms']:.1f} / {s['floor']['p95_ms']:.1f} ms",
                        f"{s['intake']['rate']:,.0f} ev/s",
                        f"{s['intake']['p50_ms']:.1f} / {s['intake']['p95_ms']:.1f} ms",
                        f"{s['ratio']:.1%}",
                        f"{s['worker_cpu_ms_per_event']:.2f} ms",
                        f"{s['events_per_fold']}",
                    ]
                    for s in report.single
                ],
                [
                    "gunicorn",
                    "floor",
                    "floor p50/p95",
                    "intake",
                    "intake p50/p95",
                    "ratio",
                    "worker CPU/ev",
                    "events/fold",
                ],
            )
        )
    details = []
    if report.batch:
        b = report.batch
        details.append(
            f"batch: {b['events']:,} events in {b['seconds']:.1f} s, {b['requests']} requests from "
            f"{b['clients']} clients on {b['config']}, median request {b['p50_request_ms']:.0f} ms; "
            f"results {b['results']}"
        )
    if report.ingest:
        i = report.ingest
        details.append(
            f"ingest: {i['events']:,} events ({i['file_bytes'] / 1e6:,.0f} MB) in {i['seconds']:.1f} s "
            f"(includes Django start-up), peak RSS {h.fmt_mb(i['peak_rss'])}"
        )
    if report.copy_floor:
        c = report.copy_floor
        details.append(
            f"COPY floor: {c['events']:,} rows in {c['seconds']:.2f} s into {c['table']} "
            f"(other CPU {_share(c.get('background'))})"
        )
    if report.rss:
        r = report.rss
        trace = ", ".join(f"{p['at']:.0%}: {h.fmt_mb(p['rss'])}" for p in r["trace"])
        details.append(
            f"rss: {r['stored']:,} of {r['events']:,} events stored in {r['seconds']:.0f} s ({r['rate']:,.0f} ev/s); "
            f"RSS over time {trace}"
        )
    if details:
        lines += ["", *details]
    lines += [
        "",
        "other CPU: share of the machine used by processes outside the benchmark while it measured "
        "(0% on an idle machine).",
        "CPU/event: CPU time of the benchmark's own processes (clients, server or command) and its "
        "PostgreSQL backends per event; about cores / CPU per event is what an idle machine could reach "
        "where nothing serialises the work (the ledger lock does serialise single events).",
    ]
    if report.notes:
        lines += ["", "notes:", *(f"  - {n}" for n in report.notes)]
    return "\n".join(lines)


def _cpu_ms(account: h.CpuAccount, events: int) -> float | None:
    """CPU milliseconds per event used by the benchmark's own processes and PostgreSQL backends.

    On a shared machine this is the figure least disturbed by other work: the wall-clock rate an
    idle machine could reach is about ``cores / CPU per event`` where nothing serialises the work.
    """
    return round(1000 * account.ours / events, 3) if events else None


def _cpu(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} ms"


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# --- Command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, help="events for batch/ingest/COPY (default 100000)")
    parser.add_argument("--rss-gb", type=float, help="size of the NDJSON file for the memory run (default 1)")
    parser.add_argument(
        "--rss-seconds",
        type=float,
        default=0,
        help="stop the memory run after this many seconds (0: let it finish; the figure is then the peak so far)",
    )
    parser.add_argument("--duration", type=float, help="seconds measured per single-event run (default 20)")
    parser.add_argument("--warmup", type=float, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="single-event client processes")
    parser.add_argument("--batch-clients", type=int, default=2, help="batch client processes")
    parser.add_argument("--batch-size", type=int, default=500, help="events per batch request")
    parser.add_argument(
        "--configs",
        help=(
            "gunicorn shapes to compare, e.g. sync:3,gthread:3x4; +NAME=value sets a server setting"
            f" (gthread:2x8+TRACEMARK_GROUP_COMMIT=0) (default {','.join(DEFAULT_CONFIGS)})"
        ),
    )
    parser.add_argument(
        "--only",
        default="single,batch,ingest,copy,rss",
        help="comma-separated phases: single,batch,ingest,copy,rss",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a sanity run of every phase")
    parser.add_argument(
        "--ingest-debug",
        action="store_true",
        help="run manage.py ingest with DEBUG=1 (the settings' default) instead of production settings",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the tracemark_bench_* databases")
    parser.add_argument(
        "--db-prefix", default=DB_PREFIX, help="name prefix of the databases (two runs on one server need two)"
    )
    parser.add_argument("--tmpdir", help="where the NDJSON files go (default: the system temp dir)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write py-spy stacks of each phase here (of the thread holding the GIL: where CPU goes)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--timeout", type=float, default=3600, help="limit per phase, seconds")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="before each measurement, wait up to this many seconds for other work to stop (0: never)",
    )
    a = parser.parse_args(argv)
    quick = a.quick
    configs = a.configs.split(",") if a.configs else (["gthread:3x4"] if quick else list(DEFAULT_CONFIGS))
    if a.profile:
        a.profile.mkdir(parents=True, exist_ok=True)
    return Options(
        events=a.events or (5_000 if quick else 100_000),
        rss_bytes=int((a.rss_gb if a.rss_gb is not None else (0.05 if quick else 1.0)) * 1e9),
        rss_seconds=a.rss_seconds or a.timeout,
        duration=a.duration or (5.0 if quick else 20.0),
        warmup=a.warmup if a.warmup is not None else (1.0 if quick else 3.0),
        clients=a.clients,
        batch_clients=a.batch_clients,
        batch_size=a.batch_size,
        configs=[h.ServerConfig.parse(c.strip()) for c in configs],
        phases={p.strip() for p in a.only.split(",") if p.strip()},
        keep_db=a.keep_db,
        db_prefix=a.db_prefix,
        tmpdir=a.tmpdir,
        profile_dir=a.profile.resolve() if a.profile else None,
        json_path=a.json,
        timeout=a.timeout,
        wait_quiet=a.wait_quiet,
        ingest_debug=a.ingest_debug,
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opt = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so gunicorn, the files and the databases are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    phases: list[tuple[str, Callable[[IntakeBench], None]]] = [
        ("single", IntakeBench.single),
        ("batch", IntakeBench.batch),
        ("ingest", IntakeBench.ingest),
        ("copy", IntakeBench.copy_floor),
        ("rss", IntakeBench.rss),
    ]
    with h.services() as svc:
        h.BROKER.url = svc.broker_url
        bench = IntakeBench(svc.database_url, opt)
        world = bench.world
        bench.report.options = {
            "events": opt.events,
            "rss_bytes": opt.rss_bytes,
            "rss_seconds": opt.rss_seconds,
            "duration": opt.duration,
            "clients": opt.clients,
            "batch_clients": opt.batch_clients,
            "batch_size": opt.batch_size,
            "configs": [c.label for c in opt.configs],
            "ingest_debug": opt.ingest_debug,
            "workload": (
                f"{len(world.jobs)} jobs, {len(world.datasets)} datasets, START+COMPLETE pairs "
                f"(~{world.workload.fail_share:.0%} FAIL), column lineage on "
                f"{world.workload.column_lineage_share:.0%} of jobs, mean event {_mean_size(world):,.0f} B"
            ),
        }
        try:
            print("bench: setting up the template database", file=sys.stderr)
            bench.setup()
            for name, phase in phases:
                if name in opt.phases:
                    print(f"bench: {name}", file=sys.stderr)
                    phase(bench)
        finally:
            bench.cleanup()
    text = render(bench.report)
    if opt.profile_dir:
        for path in sorted(opt.profile_dir.glob("*.collapsed.txt")):
            summary = h.profile_summary(path)
            path.with_name(path.name.replace(".collapsed.txt", ".summary.txt")).write_text(summary + "\n")
            text += "\n\n" + summary
    print(text)
    if opt.json_path:
        opt.json_path.write_text(json.dumps(bench.report.__dict__, indent=2, default=str) + "\n")
    return 0


def _mean_size(world: World, sample: int = 2000) -> float:
    sizes = [len(line) for line in world.ndjson(sample, stream=999)]
    return sum(sizes) / len(sizes) if sizes else math.nan


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
