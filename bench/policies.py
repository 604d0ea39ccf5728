"""Policies: how soon a finding follows the event that causes it, under load; and a full sweep.

    .venv/bin/python bench/policies.py             # 100 events/s for 90 s with 30 probes; sweep over 100,000 datasets
    .venv/bin/python bench/policies.py --quick     # 20 events/s, 8 probes; sweep over 10,000 datasets

The stack is bench/faults.py's, without faults: its own PostgreSQL and Redis, gunicorn, two Celery
workers (concurrency 1 each) and beat, in production settings, with the demo AI factory loaded.

1. Latency. Sender threads post unrelated single events at ``--rate`` events/s to
   ``/api/v1/lineage``. Every few seconds a *probe* is posted the same way: a job that reads a new
   dataset declared in the US (``tracemark_governance`` facet) and writes the training data of the
   demo's high-risk credit-scoring system, allowed only in the EU. The probe's latency is the time
   from the intake's 201 to the data-residency finding naming that dataset existing in the database
   (polled every 20 ms): outbox → dispatcher → worker → facets, rules, propagation, evaluation.
2. Sweep. ``--datasets`` more datasets are added through the intake service (in batches), then the
   periodic sweep (``catalog.sweep``) is enqueued and timed until the broker's queues are empty and
   both workers are idle: every dataset's rules and propagation, every job, every system.

Targets (issue 4): median latency ≤ 2 s; full sweep over 100,000 datasets ≤ 120 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faults import Postgres, Redis, Tracemark, log

PRODUCER = "https://github.com/tracemark/bench/policies"
GOVERNANCE_SCHEMA = "https://tracemark.example.org/schemas/tracemark/DatasetGovernanceDatasetFacet/1-0-0.json"


def _event(job: str, namespace: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(tz=UTC).isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def _probe(i: int) -> tuple[dict[str, Any], str]:
    source = {
        "namespace": "s3://bench-us-east-1",
        "name": f"probe/{i}",
        "facets": {
            "tracemark_governance": {
                "_producer": PRODUCER,
                "_schemaURL": GOVERNANCE_SCHEMA,
                "jurisdiction": "US",
                "license": "LicenseRef-bench",
                "origin": "licensed",
            }
        },
    }
    target = {"namespace": "s3://factory-features-eu", "name": "credit/train"}
    return _event(
        f"bench.enrich_{i}", "spark://factory-eu", [source], [target]
    ), "dataset:s3://bench-us-east-1:probe/" + str(i)


class Poster:
    """One keep-alive connection posting single events."""

    def __init__(self, url: str, key: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.conn = http.client.HTTPConnection(*self.address, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, event: dict[str, Any]) -> int:
        body = json.dumps(event)
        for attempt in (1, 2):
            try:
                self.conn.request("POST", "/api/v1/lineage", body=body, headers=self.headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(*self.address, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _background(url: str, key: str, rate: float, stop: threading.Event, counts: dict[str, int]) -> None:
    poster = Poster(url, key)
    period = 1.0 / rate
    due = time.monotonic()
    i = 0
    while not stop.is_set():
        i += 1
        event = _event(
            f"load.job{i % 50}",
            "airflow://bench-load",
            [{"namespace": "s3://bench-load", "name": f"in/{i % 200}"}],
            [{"namespace": "s3://bench-load", "name": f"out/{i % 200}"}],
        )
        status = poster.post(event)
        counts["sent"] += 1
        if status >= 300:
            counts["errors"] += 1
        due += period
        time.sleep(max(0.0, due - time.monotonic()))


def _finding_exists(pg_url: str, item: str) -> bool:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "select 1 from catalog_finding where item = %s and policy_key = 'data-residency' and status = 'open'",
            (item,),
        ).fetchone()
    return row is not None


def latency_phase(app: Tracemark, pg: Postgres, key: str, rate: float, probes: int, gap: float) -> dict[str, Any]:
    stop = threading.Event()
    counts = {"sent": 0, "errors": 0}
    senders = [
        threading.Thread(target=_background, args=(app.url, key, rate / 2, stop, counts), daemon=True) for _ in range(2)
    ]
    for thread in senders:
        thread.start()
    time.sleep(5)  # the load settles
    prober = Poster(app.url, key)
    latencies: list[float] = []
    missed = 0
    started = time.monotonic()
    for i in range(probes):
        event, item = _probe(i)
        status = prober.post(event)
        accepted = time.monotonic()
        if status != 201:
            missed += 1
            continue
        while time.monotonic() - accepted < 60:
            if _finding_exists(pg.url, item):
                latencies.append(time.monotonic() - accepted)
                break
            time.sleep(0.02)
        else:
            missed += 1
        log(f"probe {i + 1}/{probes}: {latencies[-1] if latencies else float('nan'):.2f} s")
        time.sleep(max(0.0, gap - (time.monotonic() - accepted)))
    elapsed = time.monotonic() - started + 5
    stop.set()
    for thread in senders:
        thread.join(timeout=30)
    latencies.sort()
    return {
        "rate_target": rate,
        "rate_achieved": round(counts["sent"] / elapsed, 1),
        "background_errors": counts["errors"],
        "probes": probes,
        "missed": missed,
        "median_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3) if latencies else None,
        "max_s": round(latencies[-1], 3) if latencies else None,
    }


def _add_datasets(app: Tracemark, count: int) -> float:
    """``count`` datasets through the intake service (10 outputs per event), in one child process."""
    script = f"""
import django, time
django.setup()
from lineage.services import events_ingest
from bench.policies import _event
per, total, batch = 10, {count}, []
started = time.monotonic()
for e in range(total // per):
    outs = [{{"namespace": "s3://bench-lake", "name": f"table/{{e}}/{{k}}"}} for k in range(per)]
    src = [{{"namespace": "s3://bench-lake", "name": f"src/{{e % 100}}"}}]
    batch.append(_event(f"lake.job{{e % 500}}", "airflow://bench-lake", src, outs))
    if len(batch) == 500:
        events_ingest(events=batch); batch = []
if batch:
    events_ingest(events=batch)
print(time.monotonic() - started)
"""
    out = app.manage("shell", "-c", script, timeout=3600)
    return float(out.stdout.strip().splitlines()[-1])


def _queues_idle(broker_url: str) -> bool:
    import redis

    from config.celery import app as celery_app

    client = redis.Redis.from_url(broker_url)
    if any(client.llen(q) for q in ("celery", "reports")):
        return False
    active = celery_app.control.inspect(timeout=1.0).active() or {}
    reserved = celery_app.control.inspect(timeout=1.0).reserved() or {}
    return not any(active.values()) and not any(reserved.values())


def _wait_for_workers(count: int, timeout: float = 300) -> None:
    from config.celery import app as celery_app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(celery_app.control.inspect(timeout=1.0).ping() or {}) >= count:
            return
        time.sleep(1)
    raise SystemExit("policies: the Celery workers did not come up")


def sweep_phase(app: Tracemark, redis: Redis, datasets: int) -> dict[str, Any]:
    log(f"adding {datasets:,} datasets through the intake service…")
    load_seconds = _add_datasets(app, datasets)
    log(f"…in {load_seconds:.1f} s; waiting for the follow-up checks to settle")
    while not _queues_idle(redis.url):
        time.sleep(1)
    counted = app.manage("shell", "-c", "from lineage.models import Dataset; print(Dataset.objects.count())")
    total = int(counted.stdout.strip().splitlines()[-1])
    started = time.monotonic()
    app.manage("evaluate_policies", "--enqueue")
    time.sleep(1)
    while not _queues_idle(redis.url):
        time.sleep(0.5)
    seconds = time.monotonic() - started
    return {
        "datasets_total": total,
        "added": datasets,
        "load_seconds": round(load_seconds, 1),
        "sweep_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="background events/s during the latency phase")
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between probes")
    parser.add_argument("--datasets", type=int, default=100_000, help="datasets added before the sweep")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.probes, args.datasets = 20.0, 8, 10_000

    base = Path(tempfile.mkdtemp(prefix="tracemark-policies-"))
    pg, redis = Postgres(run_dir=base / "pg"), Redis(folder=base / "redis")
    (base / "pg").mkdir()
    os.chmod(base, 0o755)
    os.chmod(base / "pg", 0o755)
    pg.start_new()
    redis.start()
    app = Tracemark(pg, redis, base / "var", web_workers=2, celery_workers=2)
    os.environ.update({"CELERY_BROKER_URL": redis.url, "DATABASE_URL": pg.url})
    figures: dict[str, Any] = {}
    try:
        app.manage("migrate", "--no-input")
        app.manage("seed_demo")
        key = app.manage("issue_api_key", "bench-policies", "--quiet").stdout.strip()
        app.start_web()
        app.start_workers()
        app.start_beat()
        _wait_for_workers(2)
        log(f"latency: {args.rate:g} events/s in the background, {args.probes} probes")
        figures["latency"] = latency_phase(app, pg, key, args.rate, args.probes, args.gap)
        if not args.skip_sweep:
            figures["sweep"] = sweep_phase(app, redis, args.datasets)
    finally:
        app.stop_all()
        redis.stop()
        pg.destroy()
    lat = figures["latency"]
    print("\nTracemark policy-check benchmark (2 Celery workers, Redis, PostgreSQL, gunicorn gthread 2x4)")
    print(
        f"  event → finding   median {lat['median_s']} s, p95 {lat['p95_s']} s, max {lat['max_s']} s "
        f"over {lat['probes'] - lat['missed']}/{lat['probes']} probes (target: median ≤ 2 s)"
    )
    print(
        f"  background load   {lat['rate_achieved']} events/s achieved of {lat['rate_target']:g}, "
        f"{lat['background_errors']} errors"
    )
    if "sweep" in figures:
        sw = figures["sweep"]
        print(
            f"  full sweep        {sw['sweep_seconds']} s over {sw['datasets_total']:,} datasets (target ≤ 120 s); "
            f"{sw['added']:,} added through the intake in {sw['load_seconds']} s"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
