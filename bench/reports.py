"""Report benchmark: build an Annex IV report for a system whose lineage has 500 nodes and 2 years of runs.

    .venv/bin/python bench/reports.py              # SQLite (the embedded default), full size
    .venv/bin/python bench/reports.py --quick      # 4 months of runs instead of 2 years
    DATABASE_URL=postgres://… .venv/bin/python bench/reports.py --postgres

The lineage is an AI factory of 200 jobs and 300 datasets: 40 ingestion jobs (10 daily, 30 weekly),
40 cleaning jobs, 60 feature jobs also reading 30 external reference tables, 40 aggregations,
5 split jobs, 5 training, 5 evaluation and 5 serving jobs, every one of them upstream of the
system, which links the training, evaluation and serving jobs and their models. Training runs
carry the energy facet. Events go through the real intake (``events_ingest``), the catalog reads
their facets, and then the figure: the time to build the evidence and render the PDF as
``report_issue`` does (target: 10 s). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

PRODUCER = "https://github.com/tracemark/tracemark/bench/reports"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NS = uuid.UUID("0c7d5d2e-9a51-4c0e-8f6b-1d3f3b1f2a77")
END = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 10.0


def _ds(namespace: str, name: str) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": {}}


def factory() -> list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]], int, str]]:
    """(namespace, job, inputs, outputs, period in days, role) for the 200 jobs, upstream first."""
    jobs = []
    raw = [_ds(f"s3://raw-eu-{k % 4}", f"raw/source_{k:02d}") for k in range(40)]
    for k, d in enumerate(raw):
        jobs.append(("airflow://ingest-eu", f"ingest.source_{k:02d}", [], [d], 1 if k < 10 else 7, ""))
    clean = [_ds("s3://clean-eu", f"clean/source_{k:02d}") for k in range(40)]
    for k in range(40):
        jobs.append(("spark://factory-eu", f"clean.source_{k:02d}", [raw[k]], [clean[k]], 7, ""))
    refs = [_ds("postgres://reference.fra.internal:5432", f"ref.public.table_{k:02d}") for k in range(30)]
    features = []
    for k in range(60):
        outs = [_ds("s3://features-eu", f"features/f{k:02d}_{part}") for part in ("a", "b")]
        features += outs
        ins = [clean[k % 40], clean[(k * 7 + 3) % 40], refs[k % 30]]
        jobs.append(("spark://factory-eu", f"features.build_{k:02d}", ins, outs, 7, ""))
    aggregates = []
    for k in range(40):
        out = _ds("s3://features-eu", f"aggregates/a{k:02d}")
        aggregates.append(out)
        jobs.append(("spark://factory-eu", f"aggregate.a{k:02d}", features[k * 3 : k * 3 + 3], [out], 7, ""))
    for m in range(5):
        splits = [_ds("s3://features-eu", f"splits/m{m}/{part}") for part in ("train", "validation", "test")]
        model = _ds("mlflow://models.factory.eu", f"model-{m}")
        metrics = _ds("mlflow://models.factory.eu", f"model-{m}/evaluation")
        predictions = _ds("kafka://serving-eu", f"predictions.model_{m}")
        jobs.append(("spark://factory-eu", f"split.model_{m}", aggregates[m * 8 : m * 8 + 8], splits, 7, ""))
        jobs.append(("ml://factory-eu", f"train.model_{m}", splits[:2], [model], 28, "training_job"))
        jobs.append(("ml://factory-eu", f"evaluate.model_{m}", [model, splits[2]], [metrics], 28, "evaluation_job"))
        jobs.append(("k8s://serving-eu", f"serve.model_{m}", [model], [predictions], 7, "serving_job"))
    return jobs


def events(days: int) -> list[dict[str, Any]]:
    out = []
    start = END - timedelta(days=days)
    for namespace, job, inputs, outputs, period, role in factory():
        for day in range(0, days, period):
            when = start + timedelta(days=day, hours=len(job) % 12)
            run_id = str(uuid.uuid5(NS, f"{namespace}/{job}/{day}"))
            base = {"producer": PRODUCER, "schemaURL": SCHEMA, "job": {"namespace": namespace, "name": job}}
            facets: dict[str, Any] = {}
            if role == "training_job":
                facets["tracemark_energy"] = {
                    "_producer": PRODUCER,
                    "_schemaURL": "https://tracemark.dev/facets/EnergyRunFacet.json",
                    "energyKwh": 120.5,
                    "emissionsKgCo2e": 40.2,
                    "acceleratorHours": 8.0,
                    "hardware": "4x NVIDIA A100 80GB",
                    "region": "DE",
                }
            out.append({**base, "eventType": "START", "eventTime": when.isoformat(), "run": {"runId": run_id},
                        "inputs": inputs, "outputs": []})  # fmt: skip
            out.append(
                {**base, "eventType": "COMPLETE", "eventTime": (when + timedelta(minutes=30)).isoformat(),
                 "run": {"runId": run_id, "facets": facets}, "inputs": inputs, "outputs": outputs}
            )  # fmt: skip
    return out


def child(days: int, keep_pdf: str = "") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from catalog import services as catalog
    from catalog.facets import facets_catch_up
    from lineage.models import Dataset, Job, LedgerHead, Run
    from lineage.services import events_ingest
    from reports.evidence import evidence_build
    from reports.rendering import Issuance, report_render

    call_command("migrate", verbosity=0)
    evs = events(days)
    t = time.perf_counter()
    for i in range(0, len(evs), 2000):
        events_ingest(events=evs[i : i + 2000])
    ingest_s = time.perf_counter() - t
    facets_catch_up()
    system = catalog.system_register(
        slug="factory-scoring", name="Factory scoring", actor="bench", provider="Factory AG", version="1.0",
        intended_purpose="Benchmark system.", risk_tier="high-risk", allowed_jurisdictions=["EU"],
    )  # fmt: skip
    for job in Job.objects.filter(namespace__name__in=["ml://factory-eu", "k8s://serving-eu"]):
        role = {"train": "training_job", "evaluate": "evaluation_job", "serve": "serving_job"}[job.name.split(".")[0]]
        catalog.system_member_add(system_id=system.pk, role=role, job_id=job.pk, actor="bench")
    for ds in Dataset.objects.filter(namespace__name="mlflow://models.factory.eu").exclude(name__contains="/"):
        catalog.system_member_add(system_id=system.pk, role="model", dataset_id=ds.pk, actor="bench")
    seq = LedgerHead.objects.get(id=1).seq

    timings: dict[str, list[float]] = {"evidence": [], "render": [], "total": []}
    for _ in range(3):
        t0 = time.perf_counter()
        document = evidence_build(system="factory-scoring", kind="annex-iv", as_of_seq=seq)
        t1 = time.perf_counter()
        pdf = report_render(
            evidence_bytes=document.canonical,
            issuance=Issuance(report_id="TMR-BENCH", issued_by="bench", issued_at=END),
        )
        t2 = time.perf_counter()
        timings["evidence"].append(t1 - t0)
        timings["render"].append(t2 - t1)
        timings["total"].append(t2 - t0)
    from io import BytesIO

    from pypdf import PdfReader

    pages = len(PdfReader(BytesIO(pdf)).pages)
    if keep_pdf:
        Path(keep_pdf).write_bytes(pdf)
    lineage = document.data["lineage"]
    best = {k: min(v) for k, v in timings.items()}
    print(f"database            {django.db.connection.vendor}")
    print(f"events ingested     {len(evs):,} in {ingest_s:.1f} s ({len(evs) / ingest_s:,.0f}/s)")
    print(f"runs                {Run.objects.count():,} over {days} days")
    print(f"system lineage      {lineage['datasets'] + lineage['jobs']} nodes ({lineage['datasets']} datasets, "
          f"{lineage['jobs']} jobs), {len(lineage['edges'])} edges")  # fmt: skip
    print(
        f"evidence            {len(document.canonical):,} bytes, {len(document.data['citations'])} ledger entries cited"
    )
    print(f"pdf                 {len(pdf):,} bytes, {pages} pages")
    for key, label in (("evidence", "build evidence"), ("render", "render PDF/A-3")):
        runs = ", ".join(f"{x:.2f}" for x in timings[key])
        print(f"{label:<19} {best[key]:.2f} s (best of 3; {runs})")
    verdict = "within" if best["total"] <= TARGET_SECONDS else "OVER"
    print(f"Annex IV report     {best['total']:.2f} s  — {verdict} the {TARGET_SECONDS:.0f} s target")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 days of runs instead of 730")
    parser.add_argument("--postgres", action="store_true", help="run on DATABASE_URL (a fresh database on it)")
    parser.add_argument("--pdf", default="", help="also write the report to this file, to look at")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pdf)
        return 0
    days = 120 if args.quick else 730
    command = [sys.executable, __file__, "--child", str(days), "--pdf", args.pdf]
    with tempfile.TemporaryDirectory(prefix="tracemark-bench-reports-") as tmp:
        env = {**os.environ, "TRACEMARK_VAR_DIR": tmp, "LOG_LEVEL": "WARNING"}
        if args.postgres:
            from bench import harness as h

            with h.postgres_server() as url:
                name = "tracemark_bench_reports"
                with h.admin_connect(url) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")
                    conn.execute(f"CREATE DATABASE {name}")
                env["DATABASE_URL"] = h.with_database(url, name)
                try:
                    return subprocess.run(
                        [sys.executable, __file__, "--child", str(days), "--pdf", args.pdf], env=env, check=False
                    ).returncode
                finally:
                    with h.admin_connect(url) as conn:
                        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        env.pop("DATABASE_URL", None)
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
