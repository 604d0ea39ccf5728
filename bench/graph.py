"""Graph benchmark: lineage query latency on AI-factory graphs of growing size (PostgreSQL).

    DATABASE_URL=postgres://… .venv/bin/python bench/graph.py                      # 10k and 100k nodes
    DATABASE_URL=postgres://… .venv/bin/python bench/graph.py --sizes 10000 100000 1000000
    .venv/bin/python bench/graph.py --quick                                         # 10k only, fewer samples
    .venv/bin/python bench/graph.py --ingest                                        # also intake/fold throughput

Without DATABASE_URL the shared harness starts a throwaway PostgreSQL (``.ci/services.sh``).
Each size gets a fresh database. The graph is loaded through the fold itself (``graph_fold`` with
synthetic batches, no ledger entries), so the rows are exactly those the intake would write.

The factory: families of 65 nodes — an ingestion job reading a CRM table into a raw dataset, a
labelling job, a feature pipeline 25 jobs deep (every fifth step also reads the same step of the
previous family: fan-in across pipelines), a split, training (model), evaluation and serving.
Half the families carry column lineage on every feature step; ingestion and the first feature
step run six times, training reports START and COMPLETE.

Printed per size: best/p50/p95 latency of upstream and downstream at depth 5 and 20, a path query
(raw table -> served model), upstream column lineage of a feature column, and an as-of query
(upstream, depth 20, half-way through the ledger) — beside two floors measured right after each
query: a networkx BFS over the same answer held in memory, and as many ``SELECT 1`` round trips
as the query made (on a shared machine, what waiting for the database alone costs at that moment).
Then the growth from one size to the next.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILY_NODES = 65
DEPTH = 25  # feature steps per family
PRODUCER = "https://github.com/tracemark/bench/graph"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = ["customer_id", "amount", "country", "segment", "score"]


def _facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json", **body}


def _schema() -> dict[str, Any]:
    return _facet(fields=[{"name": f, "type": "STRING"} for f in FIELDS])


def _ds(ns: str, name: str, **facets: Any) -> dict[str, Any]:
    return {"namespace": ns, "name": name, "facets": facets}


def _feature(f: int, k: int) -> tuple[str, str]:
    return ("s3://features", f"fam{f:06d}/feat{k:02d}")


def _columns(sources: list[tuple[str, str]]) -> dict[str, Any]:
    main = sources[0]
    fields: dict[str, Any] = {
        c: {
            "inputFields": [
                {
                    "namespace": main[0],
                    "name": main[1],
                    "field": c,
                    "transformations": [
                        {"type": "DIRECT", "subtype": "IDENTITY" if c != "score" else "TRANSFORMATION"}
                    ],
                }
            ]
        }
        for c in FIELDS
    }
    for side in sources[1:]:
        fields["score"]["inputFields"].append(
            {
                "namespace": side[0],
                "name": side[1],
                "field": "customer_id",
                "transformations": [{"type": "INDIRECT", "subtype": "JOIN"}],
            }
        )
    return _facet(fields=fields)


def family_events(f: int, clock: Iterator[datetime]) -> Iterator[dict[str, Any]]:
    """The events of one pipeline family, in the order a scheduler would send them."""
    ns_job = "airflow://factory"
    raw = ("s3://raw", f"fam{f:06d}/raw")
    crm = ("postgres://crm.internal:5432", f"crm.customers_{f:06d}")
    with_columns = f % 2 == 0

    def run(job: str, inputs: list[tuple[str, str]], outputs: list[dict[str, Any]], *, start: bool = False):
        run_id = str(uuid.UUID(int=random.getrandbits(128)))
        for state in ("START", "COMPLETE") if start else ("COMPLETE",):
            yield {
                "eventType": state,
                "eventTime": next(clock).isoformat(),
                "producer": PRODUCER,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": run_id, "facets": {}},
                "job": {"namespace": ns_job, "name": f"fam{f:06d}.{job}", "facets": {}},
                "inputs": [_ds(*i) for i in inputs],
                "outputs": outputs,
            }

    for _ in range(6):
        yield from run("ingest", [crm], [_ds(*raw, schema=_schema())])
    labels = ("s3://raw", f"fam{f:06d}/labels")
    yield from run("labels", [raw], [_ds(*labels, schema=_schema())])
    previous = raw
    for k in range(DEPTH):
        sources = [previous]
        if k % 5 == 0 and f > 0:
            sources.append(_feature(f - 1, k))
        out = _feature(f, k)
        facets: dict[str, Any] = {"schema": _schema()}
        if with_columns:
            facets["columnLineage"] = _columns(sources)
        for _ in range(6 if k == 0 else 1):
            yield from run(f"feat{k:02d}", sources, [_ds(*out, **facets)])
        previous = out
    train, test = ("s3://features", f"fam{f:06d}/train"), ("s3://features", f"fam{f:06d}/test")
    yield from run("split", [previous], [_ds(*train, schema=_schema()), _ds(*test, schema=_schema())])
    model = ("mlflow://models", f"fam{f:06d}/model")
    yield from run("train", [train, labels], [_ds(*model)], start=True)
    yield from run("evaluate", [model, test], [_ds("mlflow://metrics", f"fam{f:06d}/eval")])
    yield from run("serve", [model], [_ds("serving://endpoints", f"fam{f:06d}/endpoint")])


# --- Child process: load one size and time the queries --------------------------------------------------


def _load(families: int, batch: int) -> tuple[int, float]:
    from django.db import transaction

    from lineage.folding import FoldItem, graph_fold
    from lineage.models import LedgerHead

    random.seed(families)
    clock = (T0 + timedelta(seconds=i) for i in range(10**9))
    seq, items, started = 0, [], time.perf_counter()
    for f in range(families):
        for event in family_events(f, clock):
            seq += 1
            when = datetime.fromisoformat(event["eventTime"])
            items.append(FoldItem(seq=seq, kind="RunEvent", event=event, event_time=when))
            if len(items) >= batch:
                with transaction.atomic():
                    graph_fold(items)
                items = []
    if items:
        with transaction.atomic():
            graph_fold(items)
    # No ledger entries were written; the head counter tells the graph layer how far the graph goes.
    LedgerHead.objects.update_or_create(id=1, defaults={"seq": seq, "chain_hash": "0" * 64})
    return seq, time.perf_counter() - started


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "best": round(ordered[0] * 1000, 2),
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }


def _floor(result: Any, upstream: bool, depth: int) -> float:
    """A networkx BFS over the same answer, held in memory: the cost with no database at all."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_edges_from((e.origin, e.destination) for e in result.edges)
    if upstream:
        g = g.reverse(copy=False)
    started = time.perf_counter()
    if result.root in g:
        nx.single_source_shortest_path_length(g, result.root, cutoff=2 * depth)
    return time.perf_counter() - started


def _round_trips(count: int) -> float:
    """The same number of ``SELECT 1`` round trips, timed: what the database's latency alone costs.

    On a shared machine most of a walk's time is waiting for the PostgreSQL backend to be scheduled;
    this floor moves with that, where the in-memory BFS does not.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        began = time.perf_counter()
        for _ in range(count):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return time.perf_counter() - began


def _child(size: int, samples: int, batch: int, *, load: bool = True) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lineage import graph
    from lineage.models import ColumnLineageEdge, Dataset, Job, JobDatasetEdge, LedgerHead, RunDataset

    families = max(1, size // FAMILY_NODES)
    if load:
        events, load_seconds = _load(families, batch)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        events, load_seconds = LedgerHead.objects.get().seq, 0.0
    nodes = Dataset.objects.count() + Job.objects.count()
    facts = {
        "families": families,
        "events": events,
        "nodes": nodes,
        "job_dataset_edges": JobDatasetEdge.objects.count(),
        "run_edges": RunDataset.objects.count(),
        "column_edges": ColumnLineageEdge.objects.count(),
        "load_seconds": round(load_seconds, 1) if load else None,
        "fold_events_per_second": round(events / load_seconds) if load else None,
    }
    rng = random.Random(7)
    picks = [rng.randrange(1, families) for _ in range(samples)]
    # As of half-way through the ledger: start from families that were complete by then.
    early = [
        f"dataset:mlflow://models:fam{rng.randrange(1, max(2, families // 2 - 1)):06d}/model" for _ in range(samples)
    ]
    model = [f"dataset:mlflow://models:fam{f:06d}/model" for f in picks]
    raw = [f"dataset:s3://raw:fam{f:06d}/raw" for f in picks]
    endpoint = [f"dataset:serving://endpoints:fam{f:06d}/endpoint" for f in picks]
    column = [f"datasetField:s3://features:fam{f - f % 2:06d}/feat{DEPTH - 1:02d}:score" for f in picks]
    half = events // 2

    def upstream(depth: int, **kw: Any) -> Callable[[str], Any]:
        return lambda node: graph.upstream(node, depth=depth, **kw)

    def downstream(depth: int) -> Callable[[str], Any]:
        return lambda node: graph.downstream(node, depth=depth)

    pairs = list(zip(raw, endpoint, strict=True))
    cases: list[tuple[str, list[Any], Callable[[Any], Any], tuple[bool, int] | None]] = [
        ("upstream depth 5", model, upstream(5), (True, 5)),
        ("upstream depth 20", model, upstream(20), (True, 20)),
        ("downstream depth 5", raw, downstream(5), (False, 5)),
        ("downstream depth 20", raw, downstream(20), (False, 20)),
        ("path raw -> endpoint", pairs, lambda pair: graph.paths(pair[0], pair[1], max_depth=40), None),
        ("column lineage depth 20", column, lambda node: graph.column_lineage(node, depth=20), None),
        ("as-of upstream depth 20", early, upstream(20, as_of_seq=half), (True, 20)),
    ]
    results: dict[str, Any] = {}
    for name, starts, query, floor in cases:
        for warm in starts[:3]:
            query(warm)
        times, floors, trips, sizes, truncated, queries = [], [], [], [], 0, []
        for start in starts:
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                answer = query(start)
                times.append(time.perf_counter() - began)
            queries.append(len(captured))
            trips.append(_round_trips(len(captured)))
            sizes.append(len(answer.graph.nodes if hasattr(answer, "graph") else answer.nodes))
            truncated += bool(answer.truncated)
            if floor is not None:
                floors.append(_floor(answer, *floor))
        results[name] = {
            **_percentiles(times),
            "floor": _percentiles(floors) if floors else None,
            "round_trips": _percentiles(trips),
            "queries": int(statistics.median(queries)),
            "answer_nodes_max": max(sizes),
            "answer_nodes_median": int(statistics.median(sizes)),
            "truncated": truncated,
        }
    return {"size": size, "facts": facts, "queries": results}


# --- Intake throughput ---------------------------------------------------------------------------------------


def _ingest_child(events: int) -> dict[str, Any]:
    """events_ingest (validation, ledger, fold) of realistic events in batches, and the fold alone."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from lineage import folding, services

    random.seed(1)
    clock = (T0 + timedelta(seconds=i) for i in range(10**9))
    stream: list[dict[str, Any]] = []
    f = 0
    while len(stream) < events:
        stream.extend(family_events(f, clock))
        f += 1
    stream = stream[:events]
    fold_seconds = 0.0
    original = services.graph_fold

    def timed(items: Any) -> Any:
        nonlocal fold_seconds
        began = time.perf_counter()
        try:
            return original(items)
        finally:
            fold_seconds += time.perf_counter() - began

    services.graph_fold = timed  # type: ignore[assignment]
    figures = {}
    for batch in (500,):
        began = time.perf_counter()
        for start in range(0, len(stream), batch):
            services.events_ingest(events=stream[start : start + batch])
        total = time.perf_counter() - began
        figures[f"batch {batch}"] = {
            "events": len(stream),
            "seconds": round(total, 2),
            "events_per_second": round(len(stream) / total),
            "fold_seconds": round(fold_seconds, 2),
            "fold_events_per_second": round(len(stream) / fold_seconds),
        }
    services.graph_fold = original  # type: ignore[assignment]
    assert folding.graph_fold is original
    return figures


# --- Parent: one database per size, then the tables -------------------------------------------------------------


def _run_child(database_url: str, *args: str) -> dict[str, Any]:
    from bench import harness

    env = harness.django_env(database_url)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=6 * 3600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench/graph.py {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_size(result: dict[str, Any]) -> None:
    facts = result["facts"]
    loaded = (
        f"; loaded by the fold in {facts['load_seconds']} s ({facts['fold_events_per_second']:,} events/s)"
        if facts["load_seconds"] is not None
        else " (database kept from an earlier run)"
    )
    print(
        f"\n{facts['nodes']:,} nodes ({facts['families']:,} families): {facts['events']:,} events, "
        f"{facts['job_dataset_edges']:,} job-dataset edges, {facts['run_edges']:,} run edges, "
        f"{facts['column_edges']:,} column edges{loaded}"
    )
    print(
        f"  {'query':<26} {'best ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'BFS p50':>8} {'BFS p95':>8} "
        f"{'trips best':>10} {'trips p50':>10} {'trips p95':>10} {'queries':>8} {'answer nodes':>13}"
    )
    for name, q in result["queries"].items():
        floor = q["floor"] or {"p50": "-", "p95": "-"}
        trips = q.get("round_trips") or {"best": "-", "p50": "-", "p95": "-"}
        answer = f"{q['answer_nodes_median']}/{q['answer_nodes_max']}"
        print(
            f"  {name:<26} {q.get('best', '-'):>8} {q['p50']:>8} {q['p95']:>8} {floor['p50']:>8} {floor['p95']:>8} "
            f"{trips.get('best', '-'):>10} {trips['p50']:>10} {trips['p95']:>10} {q.get('queries', '-'):>8} "
            f"{answer:>13}"
        )
    print(
        "  BFS: networkx over the same answer in memory; trips: as many SELECT 1 round trips as the query made",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        parser = argparse.ArgumentParser()
        parser.add_argument("_child")
        parser.add_argument("--size", type=int)
        parser.add_argument("--samples", type=int)
        parser.add_argument("--batch", type=int)
        parser.add_argument("--no-load", action="store_true")
        a = parser.parse_args(argv)
        print(json.dumps(_child(a.size, a.samples, a.batch, load=not a.no_load)))
        return 0
    if argv and argv[0] == "_ingest":
        print(json.dumps(_ingest_child(int(argv[1]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--batch", type=int, default=2_000, help="events per fold batch while loading")
    parser.add_argument("--quick", action="store_true", help="10k nodes, 20 samples")
    parser.add_argument("--ingest", action="store_true", help="also measure intake throughput (5,000 events)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (bench_graph_<size>)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="query the databases kept by an earlier --keep run (sizes without one are loaded, then dropped)",
    )
    args = parser.parse_args(argv)
    sizes, samples = ([10_000], 20) if args.quick else (args.sizes, args.samples)

    from bench import harness

    with harness.postgres_server() as server:
        print(f"PostgreSQL {harness.server_facts(server)['server_version']}; {os.cpu_count()} CPUs")
        results = []
        for size in sizes:
            name = f"bench_graph_{size}"
            child = ["_child", "--size", str(size), "--samples", str(samples), "--batch", str(args.batch)]
            exists = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
            kept = args.reuse and bool(harness.scalar(server, exists))
            if kept:
                url = harness.with_database(server, name)
                child.append("--no-load")
            else:
                url = harness.create_database(server, name)
            harness.manage(url, "migrate", "--verbosity", "0")
            results.append(_run_child(url, *child))
            _print_size(results[-1])
            if not (args.keep or kept):
                harness.drop_database(server, name)
        if len(results) > 1:
            print("\ngrowth of latency (best / p50 / p95)")
            for before, after in itertools.pairwise(results):
                label = f"{before['facts']['nodes']:,} -> {after['facts']['nodes']:,} nodes"
                print(f"  {label}")
                for name, q in after["queries"].items():
                    ratios = [q[k] / max(before["queries"][name][k], 0.001) for k in ("best", "p50", "p95") if k in q]
                    print(f"    {name:<26} " + " / ".join(f"x{r:.2f}" for r in ratios))
        if args.ingest:
            url = harness.create_database(server, "bench_graph_ingest")
            harness.manage(url, "migrate", "--verbosity", "0")
            figures = _run_child(url, "_ingest", "5000")
            print("\nintake throughput (events_ingest of 5,000 events: validation, ledger, fold)")
            for batch, f in figures.items():
                print(
                    f"  {batch}: {f['events_per_second']:,} events/s end to end; "
                    f"the fold alone {f['fold_events_per_second']:,} events/s ({f['fold_seconds']} of {f['seconds']} s)"
                )
            harness.drop_database(server, "bench_graph_ingest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
