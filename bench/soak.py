"""Soak: ~70 % of the measured intake capacity for N minutes; errors, p95 per minute, memory over time.

    .venv/bin/python bench/soak.py                 # measure capacity (30 s), then 10 minutes at 70 %
    .venv/bin/python bench/soak.py --minutes 2     # shorter
    .venv/bin/python bench/soak.py --rate 150      # skip the measurement, hold 150 events/s
    .venv/bin/python bench/soak.py --quick         # 15 s capacity, 2 minutes at 70 % (a sanity run)

The stack is bench/faults.py's, without the faults: its own durable PostgreSQL and Redis,
gunicorn (gthread, production settings, no ``--max-requests`` so that a leak would show), two
Celery workers and beat draining the outbox and running the policy checks. Sender processes post
single events (``POST /api/v1/lineage``, one new run each) on keep-alive connections:

1. capacity: closed loop (each sender posts as fast as answers come back) for ``--capacity-seconds``;
2. soak: open loop at ``--fraction`` of that rate, paced per sender, for ``--minutes``.

Every minute it prints the rate, errors (anything but 201, or no answer), p50/p95/max latency and
the resident memory (VmRSS) of the web processes (master + workers) and of the Celery workers
(with their pool processes). Verdict: zero errors, and memory "flat" when the last minute's RSS is
within 10 % of the second minute's (the first is warm-up). Exit status 0 only then.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import select
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faults import ROOT, Postgres, Redis, Tracemark, log

_CTX = mp.get_context("fork")


def _event(sender: int, n: int) -> bytes:
    return orjson.dumps(
        {
            "eventType": "COMPLETE",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "producer": "https://github.com/tracemark/bench/soak",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "soak://pipelines", "name": f"s{sender}.job{n % 40}"},
            "inputs": [{"namespace": "soak://raw", "name": f"t{n % 300}"}],
            "outputs": [{"namespace": "soak://clean", "name": f"s{sender}/t{n % 100}"}],
        }
    )


def _sender(index: int, port: int, key: str, rate: float, until: float, results: mp.Queue) -> None:
    """Post events until ``until``: as fast as possible (rate 0) or paced at ``rate`` per second."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn: http.client.HTTPConnection | None = None
    samples: list[tuple[float, float, int]] = []  # (sent at, latency, status; 0 = no answer)
    n, start = 0, time.monotonic()
    while True:
        now = time.monotonic()
        if now >= until:
            break
        if rate > 0:
            due = start + n / rate
            if due > now:
                time.sleep(due - now)
        body = _event(index, n)
        sent = time.monotonic()
        if conn is not None and _dropped(conn):
            conn.close()  # the server closed the idle keep-alive connection: reconnect, as urllib3 does
            conn = None
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/api/v1/lineage", body, headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            status = 0
            if conn is not None:
                conn.close()
            conn = None
        samples.append((time.time(), time.monotonic() - sent, status))
        n += 1
    results.put(samples)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """A kept-alive connection the server has closed meanwhile: readable (EOF) while no request is out."""
    if conn.sock is None:
        return True
    readable, _, _ = select.select([conn.sock], [], [], 0)
    return bool(readable)


def _drive(port: int, key: str, senders: int, total_rate: float, seconds: float) -> list[tuple[float, float, int]]:
    results: mp.Queue = _CTX.Queue()
    until = time.monotonic() + seconds
    per = total_rate / senders if total_rate > 0 else 0.0
    procs = [_CTX.Process(target=_sender, args=(i, port, key, per, until, results)) for i in range(senders)]
    for p in procs:
        p.start()
    samples = [s for _ in procs for s in results.get(timeout=seconds + 300)]
    for p in procs:
        p.join(timeout=60)
    return sorted(samples)


# --- Memory ---------------------------------------------------------------------------------------


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
    return pids


@dataclass
class MemorySample:
    at: float
    web: int
    workers: int


def _sample_memory(app: Tracemark, stop: threading.Event, out: list[MemorySample], every: float = 5.0) -> None:
    while not stop.wait(every):
        web = sum(_rss(p) for p in _tree(app.web.pid)) if app.web else 0
        workers = sum(_rss(p) for w in app.workers for p in _tree(w.pid))
        out.append(MemorySample(time.time(), web, workers))


# --- Report ---------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Minute:
    index: int
    requests: int
    errors: int
    p50: float
    p95: float
    worst: float
    web_mb: float
    workers_mb: float


def _minutes(samples: list[tuple[float, float, int]], memory: list[MemorySample], t0: float) -> list[Minute]:
    rows = []
    count = int((samples[-1][0] - t0) // 60) + 1 if samples else 0
    for m in range(count):
        lo, hi = t0 + 60 * m, t0 + 60 * (m + 1)
        here = [s for s in samples if lo <= s[0] < hi]
        latencies = [s[1] for s in here if s[2] == 201]
        mem = [x for x in memory if lo <= x.at < hi] or memory[-1:]
        rows.append(
            Minute(
                index=m + 1,
                requests=len(here),
                errors=sum(1 for s in here if s[2] != 201),
                p50=_pct(latencies, 0.50),
                p95=_pct(latencies, 0.95),
                worst=max(latencies, default=0.0),
                web_mb=statistics.mean(x.web for x in mem) / 2**20 if mem else 0.0,
                workers_mb=statistics.mean(x.workers for x in mem) / 2**20 if mem else 0.0,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fraction", type=float, default=0.70, help="share of the measured capacity to hold")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s to hold (skips the capacity run)")
    parser.add_argument("--capacity-seconds", type=float, default=30.0)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument("--quick", action="store_true", help="15 s capacity run, then 2 minutes")
    parser.add_argument("--json", type=Path, help="also write the per-minute figures as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.capacity_seconds = min(args.minutes, 2.0), 15.0

    tmp = Path(tempfile.mkdtemp(prefix="tracemark-soak-"))
    (ROOT / "var" / "ci").mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="soak.", dir=ROOT / "var" / "ci"))
    run_dir.chmod(0o755)
    pg, redis = Postgres(run_dir), Redis(tmp / "redis")
    app: Tracemark | None = None
    try:
        pg.start_new()
        redis.start()
        app = Tracemark(pg, redis, tmp / "var", args.web_workers, args.celery_workers)
        app.manage("migrate", "--noinput")
        key = app.manage("issue_api_key", "soak").stdout.split("tm_", 1)[1].split()[0]
        key = "tm_" + key
        app.start_web()
        app.start_workers()
        app.start_beat()
        time.sleep(3)

        rate, capacity = args.rate, None
        if rate <= 0:
            log(f"measuring capacity: {args.senders} closed-loop senders for {args.capacity_seconds:.0f} s")
            burst = _drive(app.port, key, args.senders, 0.0, args.capacity_seconds)
            ok = [s for s in burst if s[2] == 201]
            capacity = len(ok) / args.capacity_seconds
            log(f"capacity {capacity:.0f} events/s (p95 {_pct([s[1] for s in ok], 0.95) * 1000:.0f} ms)")
            rate = capacity * args.fraction
            time.sleep(10)  # let the workers catch up with the burst's checks
        log(f"soak: {rate:.0f} events/s for {args.minutes:g} min")
        memory: list[MemorySample] = []
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_memory, args=(app, stop, memory), daemon=True)
        sampler.start()
        t0 = time.time()
        samples = _drive(app.port, key, args.senders, rate, args.minutes * 60)
        stop.set()
        sampler.join()
        pending = (
            app.manage(
                "shell",
                "-c",
                "from lineage.models import OutboxMessage as O; print(O.objects.filter(dispatched_at=None).count())",
            )
            .stdout.strip()
            .splitlines()[-1]
        )  # after the shell's banner
        verify = app.manage("verify_ledger", check=False)
    finally:
        if app is not None:
            app.stop_all()
        redis.stop()
        pg.destroy()
        shutil.rmtree(run_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = _minutes(samples, memory, t0)
    print()
    shape = f"gunicorn gthread {args.web_workers}x4, {args.celery_workers} Celery workers, {os.cpu_count()} cores"
    print(f"Soak at {rate:.0f} events/s ({args.fraction:.0%} of capacity), {args.senders} senders, {shape}")
    head = ("min", "events", "ev/s", "errors", "p50 ms", "p95 ms", "max ms", "web MB", "workers MB")
    print("{:>4} {:>7} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>10}".format(*head))
    for r in rows:
        print(
            f"{r.index:>4} {r.requests:>7} {r.requests / 60:>6.0f} {r.errors:>6} {r.p50 * 1000:>7.1f} "
            f"{r.p95 * 1000:>7.1f} {r.worst * 1000:>7.0f} {r.web_mb:>7.0f} {r.workers_mb:>10.0f}"
        )
    full = [r for r in rows if r.requests >= 30 * rate]  # whole minutes only
    errors = sum(r.errors for r in rows)
    base = full[1] if len(full) > 2 else (full[0] if full else None)
    last = full[-1] if full else None
    growth_web = (last.web_mb / base.web_mb - 1) if base and last and base.web_mb else 0.0
    growth_workers = (last.workers_mb / base.workers_mb - 1) if base and last and base.workers_mb else 0.0
    p95s = [r.p95 for r in full]
    flat = abs(growth_web) < 0.10 and abs(growth_workers) < 0.10
    print()
    statuses = Counter(s[2] for s in samples)
    codes = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(statuses.items()))
    print(f"  events posted            {len(samples):,}   errors {errors}   answers {codes}")
    print(f"  p95 per minute           {min(p95s, default=0) * 1000:.1f} to {max(p95s, default=0) * 1000:.1f} ms")
    for label, first, final, growth in (
        ("web RSS", base.web_mb if base else 0, last.web_mb if last else 0, growth_web),
        ("worker RSS", base.workers_mb if base else 0, last.workers_mb if last else 0, growth_workers),
    ):
        print(f"  {label + ', min 2 -> last':<24} {first:.0f} -> {final:.0f} MB ({growth:+.1%})")
    print(f"  outbox pending at end    {pending}")
    print(f"  verify_ledger            {(verify.stdout or verify.stderr).strip()}")
    ok = errors == 0 and flat and verify.returncode == 0
    print(f"  result                   {'PASS' if ok else 'FAIL'} (zero errors, memory within 10 %)")
    if args.json:
        summary = {
            "capacity": capacity,
            "rate": rate,
            "minutes": [r.__dict__ for r in rows],
            "events": len(samples),
            "errors": errors,
            "statuses": {str(code): n for code, n in statuses.items()},
            "web_growth": growth_web,
            "workers_growth": growth_workers,
            "outbox_pending": pending,
            "verify_ledger": (verify.stdout or verify.stderr).strip(),
            "pass": ok,
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
