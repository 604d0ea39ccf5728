"""A small, realistic AI-factory scenario as OpenLineage events, for ``seed_demo``.

EU sites ingest loan applications (DE) and bureau data (FR), build features, train and
evaluate a credit-scoring model, and serve it; a nightly load fails once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/tracemark/tracemark/seed_demo"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_BASE = "https://openlineage.io/spec/facets/1-0-0"
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
# Fixed namespace for uuid5 so the scenario is the same on every machine.
DEMO_NS = uuid.UUID("6b1f0c56-0a43-4f7c-9d55-3f2a3c1d0e11")


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACET_BASE}/{name}.json", **fields}


def _schema(*columns: tuple[str, str]) -> dict[str, Any]:
    return _facet("SchemaDatasetFacet", fields=[{"name": n, "type": t} for n, t in columns])


def _dataset(namespace: str, name: str, columns: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    ds: dict[str, Any] = {"namespace": namespace, "name": name, "facets": {}}
    if columns:
        ds["facets"]["schema"] = _schema(*columns)
    return ds


APPLICATIONS = _dataset(
    "postgres://loans-db.fra.internal:5432",
    "lending.public.loan_applications",
    (
        ("applicant_id", "BIGINT"),
        ("full_name", "TEXT"),
        ("iban", "TEXT"),
        ("income", "NUMERIC"),
        ("amount", "NUMERIC"),
    ),
)
BUREAU = _dataset(
    "s3://bureau-exports-paris",
    "credit_bureau/2026/scores.parquet",
    (("applicant_id", "BIGINT"), ("bureau_score", "INT"), ("defaults_24m", "INT")),
)
FEATURES = _dataset(
    "s3://factory-features-eu",
    "credit/features_v3",
    (("applicant_id", "BIGINT"), ("income", "DOUBLE"), ("amount", "DOUBLE"), ("bureau_score", "INT")),
)
TRAIN_SPLIT = _dataset("s3://factory-features-eu", "credit/train")
TEST_SPLIT = _dataset("s3://factory-features-eu", "credit/test")
MODEL = _dataset("mlflow://models.factory.eu", "credit-scoring/3")
METRICS = _dataset("mlflow://models.factory.eu", "credit-scoring/3/evaluation")


def _run_events(
    namespace: str,
    job: str,
    started: datetime,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    outcome: str = "COMPLETE",
    minutes: int = 20,
    key: str = "",
) -> Iterator[dict[str, Any]]:
    run_id = str(uuid.uuid5(DEMO_NS, f"{namespace}/{job}/{key or started.isoformat()}"))
    base = {
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "job": {"namespace": namespace, "name": job, "facets": {}},
    }
    yield {
        **base,
        "eventType": "START",
        "eventTime": started.isoformat(),
        "run": {"runId": run_id, "facets": {}},
        "inputs": inputs,
        "outputs": [],
    }
    run_facets: dict[str, Any] = {}
    if outcome == "FAIL":
        run_facets["errorMessage"] = _facet(
            "ErrorMessageRunFacet", message="connection reset by peer", programmingLanguage="python"
        )
    yield {
        **base,
        "eventType": outcome,
        "eventTime": (started + timedelta(minutes=minutes)).isoformat(),
        "run": {"runId": run_id, "facets": run_facets},
        "inputs": inputs,
        "outputs": outputs,
    }


def demo_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for day in range(3):
        when = START + timedelta(days=day)
        events += _run_events("airflow://eu-central", "nightly.load_applications", when, [], [APPLICATIONS])
        events += _run_events(
            "airflow://eu-central",
            "nightly.load_bureau",
            when,
            [],
            [BUREAU],
            outcome="FAIL" if day == 1 else "COMPLETE",
        )
        events += _run_events(
            "spark://factory-eu",
            "features.build_credit_features",
            when + timedelta(hours=1),
            [APPLICATIONS, BUREAU],
            [FEATURES, TRAIN_SPLIT, TEST_SPLIT],
            minutes=35,
        )
    train_at = START + timedelta(days=2, hours=3)
    events += _run_events(
        "ml://factory-eu", "train.credit_scoring", train_at, [TRAIN_SPLIT], [MODEL], minutes=240
    )
    events += _run_events(
        "ml://factory-eu",
        "evaluate.credit_scoring",
        train_at + timedelta(hours=5),
        [MODEL, TEST_SPLIT],
        [METRICS],
    )
    events += _run_events(
        "k8s://serving-eu",
        "serve.credit_scoring",
        train_at + timedelta(hours=8),
        [MODEL],
        [],
        minutes=60 * 24,
    )
    return events
