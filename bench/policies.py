"""Policies: how soon a finding follows the event that causes it, under load; and a full sweep.

    .venv/bin/python bench/policies.py             # evaluation at 500 and 5,000 upstream nodes; 100 events/s
                                                   # with 30 probes; sweep over 100,000 datasets
    .venv/bin/python bench/policies.py --quick     # 500 nodes; 20 events/s, 8 probes; sweep over 10,000 datasets
    .venv/bin/python bench/policies.py --only evaluate --upstream 500 5000   # one phase

0. Evaluation (in-process, on a PostgreSQL from ``bench.harness``: ``DATABASE_URL`` or a throwaway
   one). An AI factory built from bench/graph.py's pipeline families goes through the real intake
   (``events_ingest``): a final training job reads the training split of K families, so the
   system's model has a few hundred to several thousand nodes upstream, with cross-family
   fan-in, column lineage on half the families, governance facets on the source tables (DE, FR
   and some US: residency findings), failed nightly loads and a training run without evaluation.
   The catalog reads the facets, the system (high-risk, EU only; model, training, evaluation,
   serving, training and test data as members) is registered, and ``system_evaluate`` — the
   whole built-in pack for that system — is timed: the first run (creates the findings) and the
   median / p95 of repeated runs (reconcile, nothing changes). Floors: the upstream walk alone
   (``catalog.traversal.upstream``, the lineage every check starts from) and a networkx BFS over
   the same nodes held in memory.

Phases 1 and 2 use bench/faults.py's stack, without faults: its own PostgreSQL and Redis,
gunicorn, two Celery workers (concurrency 1 each) and beat, in production settings, with the demo
AI factory loaded.

1. Latency. ``--senders`` threads post unrelated events at ``--rate`` events/s in total, paced,
   each waiting for its answers: single events to ``/api/v1/lineage``, or ``--background-batch``
   events per request to ``/api/v1/lineage/batch``. Every few seconds a single *probe* event is
   posted: a job that reads a new dataset declared in the US (``tracemark_governance`` facet) and
   writes the training data of the demo's high-risk credit-scoring system, allowed only in the EU.
   The probe's latency is the time
   from the intake's 201 to the data-residency finding naming that dataset existing in the database
   (polled every 20 ms): outbox → dispatcher → worker → facets, rules, propagation, evaluation.
2. Sweep. ``--datasets`` more datasets are added through the intake service (in batches), then the
   periodic sweep (``catalog.sweep``) is enqueued and timed until the broker's queues are empty and
   both workers are idle: every dataset's rules and propagation, every job, every system.

Targets (issue 4): median latency ≤ 2 s; full sweep over 100,000 datasets ≤ 120 s. (The
evaluation figure has no target in the issue; it is what the latency and the sweep are made of.)
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

    def post(self, event: dict[str, Any] | list[dict[str, Any]]) -> int:
        """POST one event to /api/v1/lineage, or a list of them to /api/v1/lineage/batch."""
        body = json.dumps(event)
        path = "/api/v1/lineage/batch" if isinstance(event, list) else "/api/v1/lineage"
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=body, headers=self.headers)
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


def _background(
    url: str, key: str, rate: float, batch: int, stop: threading.Event, counts: dict[str, int], lock: threading.Lock
) -> None:
    """Post unrelated events at ``rate`` events/s, ``batch`` per request (1: single events), paced."""
    poster = Poster(url, key)
    period = batch / rate
    due = time.monotonic()
    i = 0
    while not stop.is_set():
        events = []
        for _ in range(batch):
            i += 1
            events.append(
                _event(
                    f"load.job{i % 50}",
                    "airflow://bench-load",
                    [{"namespace": "s3://bench-load", "name": f"in/{i % 200}"}],
                    [{"namespace": "s3://bench-load", "name": f"out/{i % 200}"}],
                )
            )
        status = poster.post(events if batch > 1 else events[0])
        with lock:
            counts["sent"] += batch
            if status >= 300:
                counts["errors"] += 1
                counts[f"http {status}"] = counts.get(f"http {status}", 0) + 1
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


def latency_phase(
    app: Tracemark, pg: Postgres, key: str, rate: float, probes: int, gap: float, senders_count: int, batch: int
) -> dict[str, Any]:
    stop = threading.Event()
    counts = {"sent": 0, "errors": 0}
    lock = threading.Lock()
    senders = [
        threading.Thread(
            target=_background, args=(app.url, key, rate / senders_count, batch, stop, counts, lock), daemon=True
        )
        for _ in range(senders_count)
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
        "senders": senders_count,
        "background_batch": batch,
        "rate_target": rate,
        "rate_achieved": round(counts["sent"] / elapsed, 1),
        "background_errors": counts["errors"],
        "background_error_codes": {k: v for k, v in counts.items() if k.startswith("http ")},
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


def sweep_phase(app: Tracemark, redis: Redis, datasets: int, limit: float) -> dict[str, Any]:
    """Add datasets, let their follow-up checks drain, time the sweep; give up past ``limit`` seconds."""
    log(f"adding {datasets:,} datasets through the intake service…")
    load_seconds = _add_datasets(app, datasets)
    log(f"…in {load_seconds:.1f} s; waiting for the follow-up checks to settle")
    figures: dict[str, Any] = {"added": datasets, "load_seconds": round(load_seconds, 1), "sweep_seconds": None}
    settle_started = time.monotonic()
    while not _queues_idle(redis.url):
        if time.monotonic() - settle_started > limit:
            figures["unfinished"] = f"the follow-up checks had not drained after {limit:.0f} s"
            return figures
        time.sleep(1)
    figures["settle_seconds"] = round(time.monotonic() - settle_started, 1)
    counted = app.manage("shell", "-c", "from lineage.models import Dataset; print(Dataset.objects.count())")
    figures["datasets_total"] = int(counted.stdout.strip().splitlines()[-1])
    started = time.monotonic()
    app.manage("evaluate_policies", "--enqueue")
    time.sleep(1)
    while not _queues_idle(redis.url):
        if time.monotonic() - started > limit:
            figures["unfinished"] = f"the sweep had not finished after {limit:.0f} s"
            return figures
        time.sleep(0.5)
    figures["sweep_seconds"] = round(time.monotonic() - started, 1)
    return figures


# --- 0. Evaluation of the built-in pack for one system, in-process ----------------------------------

EVAL_MODEL = ("mlflow://models", "global/model")
EVAL_RULES = (
    ("jurisdiction", "DE"),
    ("license", "LicenseRef-internal"),
    ("origin", "collected"),
    ("legal_basis", "contract (GDPR Art. 6(1)(b))"),
)


def _governance(f: int) -> dict[str, Any]:
    """Governance of family ``f``'s source table: DE or FR, every tenth one US; some undocumented."""
    from catalog.demo import _tracemark

    fields: dict[str, Any] = {
        "jurisdiction": "US" if f % 10 == 7 else ("DE" if f % 2 else "FR"),
        "origin": "collected",
        "classifications": ["confidential"],
        "fields": {"customer_id": {"classifications": ["pii"]}},
    }
    if f % 6 != 5:  # the others lack a licence: documented-training-data findings
        fields["license"] = "LicenseRef-crm-contract"
    return _tracemark("DatasetGovernanceDatasetFacet", **fields)


def factory_events(families: int) -> list[dict[str, Any]]:
    """bench/graph.py's pipeline families plus one model trained on all of them, served and evaluated."""
    import random as _random
    from datetime import timedelta

    from bench.graph import PRODUCER as GRAPH_PRODUCER
    from bench.graph import T0, family_events

    _random.seed(families)
    clock = (T0 + timedelta(seconds=i) for i in range(10**9))
    events: list[dict[str, Any]] = []
    for f in range(families):
        ingests = []
        for event in family_events(f, clock):
            if event["job"]["name"].endswith(".ingest"):
                event["inputs"][0]["facets"]["tracemark_governance"] = _governance(f)
                ingests.append(event)
            events.append(event)
        if f % 7 == 3:  # the latest nightly load failed
            ingests[-1]["eventType"] = "FAIL"

    def run(name: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        run_id = str(uuid.UUID(int=_random.getrandbits(128)))
        return [
            {
                "eventType": state,
                "eventTime": next(clock).isoformat(),
                "producer": GRAPH_PRODUCER,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": run_id},
                "job": {"namespace": "airflow://factory", "name": name},
                "inputs": [{"namespace": ns, "name": n} for ns, n in inputs],
                "outputs": [{"namespace": ns, "name": n} for ns, n in outputs],
            }
            for state in ("START", "COMPLETE")
        ]

    train = [("s3://features", f"fam{f:06d}/train") for f in range(families)]
    events += run("global.train", train, [EVAL_MODEL])
    events += run("global.evaluate", [EVAL_MODEL, ("s3://features", "fam000000/test")], [("mlflow://metrics", "g")])
    events += run("global.serve", [EVAL_MODEL], [("serving://endpoints", "global")])
    return events


def _evaluate_child(families: int, repeats: int) -> dict[str, Any]:
    """Load the factory through the intake, register the system, time ``system_evaluate``."""
    import django

    django.setup()
    import networkx as nx
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from catalog.evaluation import catalog_bootstrap, system_evaluate
    from catalog.facets import facets_catch_up
    from catalog.models import Finding, FindingStatus, Policy
    from catalog.policies import SystemSubject
    from catalog.propagation import classifications_propagate
    from catalog.selectors import system_composition
    from catalog.services import (
        governance_rule_add,
        governance_rules_apply,
        ledger_head_seq,
        members_apply_rules,
        system_member_add,
        system_register,
    )
    from catalog.traversal import upstream
    from lineage.models import Dataset, Job
    from lineage.services import events_ingest

    events = factory_events(families)
    began = time.perf_counter()
    for start in range(0, len(events), 500):
        outcome = events_ingest(events=events[start : start + 500])
        bad = [r for r in outcome.results if r.status != "accepted"]
        if bad:
            raise SystemExit(f"policies: factory events refused: {bad[:2]}")
    load_seconds = time.perf_counter() - began
    began = time.perf_counter()
    catalog_bootstrap()
    facets_catch_up()
    for namespace in ("s3://raw", "s3://features", "mlflow://models"):  # the factory's own stores
        for attribute, value in EVAL_RULES:
            governance_rule_add(
                name=f"{namespace} {attribute}",
                attribute=attribute,
                value=value,
                namespace_pattern=namespace,
                actor="bench",
            )
    members_apply_rules()
    governance_rules_apply()
    classifications_propagate()
    catalog_seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    system = system_register(
        slug="bench-credit",
        name="Bench credit scoring",
        actor="bench",
        risk_tier="high-risk",
        annex_iii_area="essential-services",
        status="deployed",
        allowed_jurisdictions=["EU"],
        log_retention_days=365,
    )

    def job(name: str) -> int:
        return Job.objects.get(namespace__name="airflow://factory", name=name).pk

    def dataset(ns: str, name: str) -> int:
        return Dataset.objects.get(namespace__name=ns, name=name).pk

    members = [
        ("model", {"dataset_id": dataset(*EVAL_MODEL)}),
        ("training_job", {"job_id": job("global.train")}),
        ("evaluation_job", {"job_id": job("global.evaluate")}),
        ("serving_job", {"job_id": job("global.serve")}),
        ("training_data", {"dataset_id": dataset("s3://features", f"fam{families - 1:06d}/train")}),
        ("test_data", {"dataset_id": dataset("s3://features", "fam000000/test")}),
    ]
    for role, target in members:
        system_member_add(system_id=system.pk, role=role, actor="bench", **target)

    def walk_once() -> Any:
        comp = system_composition(system_id=system.pk, as_of_seq=ledger_head_seq())
        return upstream(dataset_ids=comp.datasets, job_ids=comp.jobs, as_of_seq=ledger_head_seq())

    began = time.perf_counter()
    first = system_evaluate(system_id=system.pk)
    first_seconds = time.perf_counter() - began
    times, walks, floors, queries = [], [], [], 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            system_evaluate(system_id=system.pk)
            times.append(time.perf_counter() - began)
        queries = len(captured)
        began = time.perf_counter()
        walk = walk_once()
        walks.append(time.perf_counter() - began)
        graph = nx.DiGraph()
        graph.add_edges_from((("d", d), ("j", j)) for d, (j, _) in walk.via.items())
        graph.add_edges_from((("j", j), ("d", prev)) for _, (j, prev) in walk.via.items())
        roots = [("d", d) for d, depth in walk.depth.items() if depth == 0]
        began = time.perf_counter()
        reversed_graph = graph.reverse(copy=False)
        seen: set[Any] = set()
        for root in roots:
            if root in reversed_graph:
                seen.update(nx.single_source_shortest_path_length(reversed_graph, root))
        floors.append(time.perf_counter() - began)
    subject = SystemSubject(system=system, as_of_seq=ledger_head_seq())
    walk = subject.walk
    open_findings = dict(
        Finding.objects.filter(status=FindingStatus.OPEN, system_id=system.pk)
        .values_list("policy_key")
        .annotate(n=Count("id"))
    )
    policies = Policy.objects.filter(is_current=True, enabled=True, subject__in=["system", "dataset"]).count()

    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
            "best_ms": round(ordered[0] * 1000, 1),
        }

    return {
        "families": families,
        "events": len(events),
        "load_seconds": round(load_seconds, 1),
        "catalog_seconds": round(catalog_seconds, 1),
        "datasets": Dataset.objects.count(),
        "upstream_datasets": len(walk.dataset_ids),
        "upstream_jobs": len(walk.jobs),
        "max_depth": max(walk.depth.values(), default=0),
        "policies": policies,
        "first_ms": round(first_seconds * 1000, 1),
        "first_violations": first.violations,
        "findings": open_findings,
        "evaluate": stats(times),
        "queries": queries,
        "walk": stats(walks),
        "memory_bfs": stats(floors),
        "repeats": repeats,
    }


def evaluate_phase(families_list: list[int], repeats: int) -> list[dict[str, Any]]:
    import subprocess

    from bench import harness

    results = []
    with harness.postgres_server() as server:
        for families in families_list:
            name = f"bench_policies_{families}"
            url = harness.create_database(server, name)
            try:
                harness.manage(url, "migrate", "--verbosity", "0")
                env = harness.django_env(url)
                env["DJANGO_SETTINGS_MODULE"] = "config.settings"
                log(f"evaluate: {families} families through the intake…")
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "_evaluate", str(families), str(repeats)],
                    cwd=harness.ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=3600,
                    check=False,
                )
                if out.returncode != 0:
                    raise RuntimeError(f"bench/policies.py _evaluate failed:\n{out.stderr[-4000:]}")
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                _print_evaluation(results[-1])
            finally:
                harness.drop_database(server, name)
    return results


def _print_latency(lat: dict[str, Any]) -> None:
    print(
        f"  event → finding   median {lat['median_s']} s, p95 {lat['p95_s']} s, max {lat['max_s']} s "
        f"over {lat['probes'] - lat['missed']}/{lat['probes']} probes (target: median ≤ 2 s)"
    )
    print(
        f"  background load   {lat['rate_achieved']} events/s achieved of {lat['rate_target']:g} "
        f"({lat['senders']} senders, {lat['background_batch']} per request), "
        f"{lat['background_errors']} errors {lat.get('background_error_codes') or ''}",
        flush=True,
    )


def _print_evaluation(r: dict[str, Any]) -> None:
    ev, walk, bfs = r["evaluate"], r["walk"], r["memory_bfs"]
    nodes = r["upstream_datasets"] + r["upstream_jobs"]
    print(
        f"\n  system with {nodes:,} nodes upstream ({r['upstream_datasets']:,} datasets, {r['upstream_jobs']:,} jobs, "
        f"depth {r['max_depth']}) in a graph of {r['datasets']:,} datasets; {r['events']:,} events through the "
        f"intake in {r['load_seconds']} s, catalog caught up in {r['catalog_seconds']} s",
        flush=True,
    )
    first = f"first evaluation {r['first_ms']:,.0f} ms ({r['first_violations']} violations)"
    print(f"    {r['policies']} policies; {first}")
    print(
        f"    system_evaluate      median {ev['median_ms']:>8,.1f} ms  p95 {ev['p95_ms']:>8,.1f} ms  "
        f"({r['queries']} queries, {r['repeats']} runs)"
    )
    print(f"    floor: upstream walk median {walk['median_ms']:>8,.1f} ms  p95 {walk['p95_ms']:>8,.1f} ms")
    print(f"    floor: in-memory BFS median {bfs['median_ms']:>8,.2f} ms  p95 {bfs['p95_ms']:>8,.2f} ms")
    print(f"    open findings: {r['findings']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_evaluate":
        print(json.dumps(_evaluate_child(int(argv[1]), int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="background events/s during the latency phase")
    parser.add_argument("--senders", type=int, default=8, help="background sender threads (each waits for its answers)")
    parser.add_argument(
        "--background-batch",
        type=int,
        default=1,
        help="background events per request: 1 posts single events, more post to /api/v1/lineage/batch",
    )
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between probes")
    parser.add_argument("--datasets", type=int, default=100_000, help="datasets added before the sweep")
    parser.add_argument(
        "--families",
        type=int,
        nargs="+",
        help="evaluation: pipeline families under the system (~60 upstream nodes each; default 9 90)",
    )
    parser.add_argument("--repeats", type=int, default=15, help="evaluation: timed runs per size")
    parser.add_argument("--only", default="evaluate,latency,sweep", help="comma-separated: evaluate,latency,sweep")
    parser.add_argument(
        "--sweep-limit", type=float, default=900, help="give up waiting for the checks or the sweep after this long"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.probes, args.datasets, args.repeats = 20.0, 8, 10_000, 7
    families = args.families or ([9] if args.quick else [9, 90])
    phases = {p.strip() for p in args.only.split(",") if p.strip()}
    if args.skip_sweep:
        phases.discard("sweep")

    if "evaluate" in phases:
        print("\nTracemark policy evaluation (system_evaluate: the built-in pack for one system)", flush=True)
        evaluations = evaluate_phase(families, args.repeats)
        print(json.dumps({"evaluate": evaluations}))
    if not phases & {"latency", "sweep"}:
        return 0

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
        if "latency" in phases:
            log(f"latency: {args.rate:g} events/s in the background, {args.probes} probes")
            figures["latency"] = latency_phase(
                app, pg, key, args.rate, args.probes, args.gap, args.senders, args.background_batch
            )
            _print_latency(figures["latency"])
        if "sweep" in phases:
            figures["sweep"] = sweep_phase(app, redis, args.datasets, args.sweep_limit)
    finally:
        app.stop_all()
        redis.stop()
        pg.destroy()
    print("\nTracemark policy-check benchmark (2 Celery workers, Redis, PostgreSQL, gunicorn gthread 2x4)")
    if "latency" in figures:
        _print_latency(figures["latency"])
    if "sweep" in figures:
        sw = figures["sweep"]
        if sw.get("unfinished"):
            print(
                f"  full sweep        not measured: {sw['unfinished']}; "
                f"{sw['added']:,} datasets added through the intake in {sw['load_seconds']} s"
            )
        else:
            print(
                f"  full sweep        {sw['sweep_seconds']} s over {sw['datasets_total']:,} datasets "
                f"(target ≤ 120 s); {sw['added']:,} added through the intake in {sw['load_seconds']} s, "
                f"their follow-up checks drained in {sw['settle_seconds']} s"
            )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
