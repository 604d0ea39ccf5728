"""A realistic AI-factory scenario as OpenLineage events plus catalog set-up, for ``seed_demo``.

EU sites ingest loan applications (DE, with PII columns) and credit-bureau data (FR); a masking
step hashes IBANs and drops names; a US-hosted enrichment dataset is joined in (breaks
residency, and its nightly load fails on the last night); features feed a credit-scoring model
(high-risk, Annex III 5(b)) trained with energy facets, evaluated and served; a federated
fine-tuning round runs across Berlin (DE) and Zurich (CH) and ships a raw calibration sample
across the border; and a general-purpose assistant model is trained on web-scraped and licensed
text. Every event goes through the real intake; run ids are fixed (uuid5) so that re-running
adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/tracemark/tracemark/seed_demo"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_BASE = "https://openlineage.io/spec/facets"
TRACEMARK_BASE = "http://127.0.0.1:8000/schemas/tracemark"
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
# Fixed namespace for uuid5 so the scenario is the same on every machine.
DEMO_NS = uuid.UUID("6b1f0c56-0a43-4f7c-9d55-3f2a3c1d0e11")

AIRFLOW, SPARK, ML, SERVING = "airflow://eu-central", "spark://factory-eu", "ml://factory-eu", "k8s://serving-eu"
CREDIT_SLUG, ASSISTANT_SLUG = "credit-scoring", "factory-assistant"


def _facet(path: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACET_BASE}/{path}.json", **fields}


def _tracemark(schema: str, /, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{TRACEMARK_BASE}/{schema}/1-0-0.json", **fields}


def _dataset(
    namespace: str,
    name: str,
    columns: tuple[tuple[str, str], ...] = (),
    governance: dict[str, Any] | None = None,
    **facets: Any,
) -> dict[str, Any]:
    ds: dict[str, Any] = {"namespace": namespace, "name": name, "facets": dict(facets)}
    if columns:
        ds["facets"]["schema"] = _facet("1-1-1/SchemaDatasetFacet", fields=[{"name": n, "type": t} for n, t in columns])
    if governance:
        ds["facets"]["tracemark_governance"] = _tracemark("DatasetGovernanceDatasetFacet", **governance)
    return ds


def _ref(ds: dict[str, Any], **input_facets: Any) -> dict[str, Any]:
    """The same dataset named again, without repeating its facets (with input facets if given)."""
    ref: dict[str, Any] = {"namespace": ds["namespace"], "name": ds["name"], "facets": {}}
    if input_facets:
        ref["inputFacets"] = input_facets
    return ref


def _lineage(columns: dict[str, list[tuple[dict[str, Any], str, str, bool]]]) -> dict[str, Any]:
    """columnLineage facet: output column → [(input dataset, input column, subtype, masking)]."""
    return _facet(
        "1-2-0/ColumnLineageDatasetFacet",
        fields={
            out: {
                "inputFields": [
                    {
                        "namespace": src["namespace"],
                        "name": src["name"],
                        "field": field,
                        "transformations": [
                            {
                                "type": "INDIRECT" if subtype in ("JOIN", "FILTER") else "DIRECT",
                                "subtype": subtype,
                                "masking": masking,
                            }
                        ],
                    }
                    for src, field, subtype, masking in inputs
                ]
            }
            for out, inputs in columns.items()
        },
    )


APPLICATIONS = _dataset(
    "postgres://loans-db.fra.internal:5432",
    "lending.public.loan_applications",
    (("applicant_id", "BIGINT"), ("full_name", "TEXT"), ("iban", "TEXT"), ("income", "NUMERIC"), ("amount", "NUMERIC")),
    {
        "jurisdiction": "DE",
        "license": "LicenseRef-internal",
        "origin": "collected",
        "legalBasis": "contract (GDPR Art. 6(1)(b))",
        "retention": "P10Y",
        "owners": ["lending-data@factory.example"],
        "classifications": ["confidential", "financial"],
        "fields": {
            "applicant_id": {"classifications": ["pii"]},
            "full_name": {"classifications": ["pii"]},
            "iban": {"classifications": ["pii", "financial"]},
        },
    },
)
BUREAU = _dataset(
    "s3://bureau-exports-paris",
    "credit_bureau/2026/scores.parquet",
    (("applicant_id", "BIGINT"), ("bureau_score", "INT"), ("defaults_24m", "INT")),
    {
        "jurisdiction": "FR",
        "license": "LicenseRef-bureau-contract-2026",
        "origin": "licensed",
        "classifications": ["confidential"],
        "fields": {"applicant_id": {"classifications": ["pii"]}},
    },
)
ENRICHMENT = _dataset(
    "s3://enrichment-us-east-1",
    "demographics/by_postcode.parquet",
    (("postcode", "TEXT"), ("median_income", "DOUBLE")),
    {"jurisdiction": "US", "license": "LicenseRef-vendor-eula", "origin": "licensed", "classifications": ["public"]},
)
MASKED = _dataset(
    "s3://factory-features-eu",
    "credit/applications_masked",
    (("applicant_id", "BIGINT"), ("iban_hash", "TEXT"), ("income", "DOUBLE"), ("amount", "DOUBLE")),
)
FEATURES = _dataset(
    "s3://factory-features-eu",
    "credit/features_v3",
    (
        ("applicant_id", "BIGINT"),
        ("income", "DOUBLE"),
        ("amount", "DOUBLE"),
        ("bureau_score", "INT"),
        ("area_income", "DOUBLE"),
    ),
)
TRAIN_SPLIT = _dataset("s3://factory-features-eu", "credit/train", (("applicant_id", "BIGINT"), ("income", "DOUBLE")))
TEST_SPLIT = _dataset("s3://factory-features-eu", "credit/test", (("applicant_id", "BIGINT"), ("income", "DOUBLE")))
MODEL = _dataset(
    "mlflow://models.factory.eu",
    "credit-scoring/3",
    tracemark_aiModel=_tracemark(
        "AIModelDatasetFacet",
        name="credit-scoring",
        version="3",
        task="binary-classification",
        framework="xgboost 2.1",
        parameters=48_000,
        metrics={"auc": 0.87, "auc_by_age_band": {"18-25": 0.81, "26-64": 0.88, "65+": 0.84}},
    ),
)
METRICS = _dataset("mlflow://models.factory.eu", "credit-scoring/3/evaluation")
FED_MODEL = _dataset(
    "mlflow://models.factory.eu",
    "credit-scoring/3-federated",
    tracemark_aiModel=_tracemark(
        "AIModelDatasetFacet", name="credit-scoring", version="3-fl", task="binary-classification"
    ),
)
WEB_CRAWL = _dataset(
    "s3://corpus-eu",
    "web/crawl-2026-01",
    governance={"jurisdiction": "EU", "origin": "scraped", "classifications": ["copyrighted", "pii"]},
)
NEWS = _dataset(
    "s3://corpus-eu",
    "licensed/news-archive",
    governance={
        "jurisdiction": "EU",
        "origin": "licensed",
        "license": "LicenseRef-news-syndicate",
        "classifications": ["copyrighted"],
    },
)
ASSISTANT = _dataset(
    "mlflow://models.factory.eu",
    "assistant-7b/1",
    tracemark_aiModel=_tracemark(
        "AIModelDatasetFacet",
        name="factory-assistant",
        version="1",
        task="text-generation",
        framework="pytorch 2.5",
        parameters=7_000_000_000,
    ),
)


def _energy(kwh: float, kg: float, hardware: str, hours: float) -> dict[str, Any]:
    return _tracemark(
        "EnergyRunFacet", energyKwh=kwh, emissionsKgCo2e=kg, hardware=hardware, acceleratorHours=hours, region="DE"
    )


def _run_events(
    namespace: str,
    job: str,
    started: datetime,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    outcome: str = "COMPLETE",
    minutes: int = 20,
    run_facets: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    run_id = str(uuid.uuid5(DEMO_NS, f"{namespace}/{job}/{started.isoformat()}"))
    base = {"producer": PRODUCER, "schemaURL": SCHEMA_URL, "job": {"namespace": namespace, "name": job, "facets": {}}}
    yield {
        **base,
        "eventType": "START",
        "eventTime": started.isoformat(),
        "run": {"runId": run_id, "facets": {}},
        "inputs": [_ref(i) for i in inputs],
        "outputs": [],
    }
    facets = dict(run_facets or {})
    if outcome == "FAIL":
        facets["errorMessage"] = _facet(
            "1-0-1/ErrorMessageRunFacet", message="connection reset by peer", programmingLanguage="python"
        )
    yield {
        **base,
        "eventType": outcome,
        "eventTime": (started + timedelta(minutes=minutes)).isoformat(),
        "run": {"runId": run_id, "facets": facets},
        "inputs": inputs,
        "outputs": outputs,
    }


def _quality(*results: tuple[str, bool]) -> dict[str, Any]:
    return _facet(
        "1-0-1/DataQualityAssertionsDatasetFacet", assertions=[{"assertion": a, "success": ok} for a, ok in results]
    )


def demo_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for day in range(3):
        when = START + timedelta(days=day)
        events += _run_events(AIRFLOW, "nightly.load_applications", when, [], [APPLICATIONS])
        events += _run_events(
            AIRFLOW, "nightly.load_bureau", when, [], [BUREAU], outcome="FAIL" if day == 1 else "COMPLETE"
        )
        # The vendor feed's last nightly load fails: the features below rest on a failed run.
        events += _run_events(
            AIRFLOW, "nightly.load_enrichment", when, [], [ENRICHMENT], outcome="FAIL" if day == 2 else "COMPLETE"
        )
        masked = {
            **MASKED,
            "facets": {
                **MASKED["facets"],
                "columnLineage": _lineage(
                    {
                        "applicant_id": [(APPLICATIONS, "applicant_id", "IDENTITY", False)],
                        "iban_hash": [(APPLICATIONS, "iban", "TRANSFORMATION", True)],
                        "income": [(APPLICATIONS, "income", "IDENTITY", False)],
                        "amount": [(APPLICATIONS, "amount", "IDENTITY", False)],
                    }
                ),
            },
        }
        events += _run_events(
            SPARK, "features.mask_pii", when + timedelta(minutes=40), [_ref(APPLICATIONS)], [masked], minutes=10
        )
        features = {
            **FEATURES,
            "facets": {
                **FEATURES["facets"],
                "columnLineage": _lineage(
                    {
                        "applicant_id": [
                            (MASKED, "applicant_id", "IDENTITY", False),
                            (BUREAU, "applicant_id", "JOIN", False),
                        ],
                        "income": [(MASKED, "income", "IDENTITY", False)],
                        "amount": [(MASKED, "amount", "IDENTITY", False)],
                        "bureau_score": [(BUREAU, "bureau_score", "IDENTITY", False)],
                        "area_income": [(ENRICHMENT, "median_income", "TRANSFORMATION", False)],
                    }
                ),
            },
        }
        events += _run_events(
            SPARK,
            "features.build_credit_features",
            when + timedelta(hours=1),
            [_ref(MASKED), _ref(BUREAU), _ref(ENRICHMENT)],
            [features, TRAIN_SPLIT, TEST_SPLIT],
            minutes=35,
        )
    train_at = START + timedelta(days=2, hours=3)
    events += _run_events(
        ML,
        "train.credit_scoring",
        train_at,
        [
            _ref(
                TRAIN_SPLIT,
                dataQualityAssertions=_quality(("not_null(income)", True), ("unique(applicant_id)", True)),
            )
        ],
        [MODEL],
        minutes=240,
        run_facets={"tracemark_energy": _energy(412.5, 148.5, "4x NVIDIA A100 80GB", 16.0)},
    )
    events += _run_events(
        ML,
        "evaluate.credit_scoring",
        train_at + timedelta(hours=5),
        [
            _ref(MODEL),
            _ref(
                TEST_SPLIT,
                dataQualityAssertions=_quality(("not_null(income)", True), ("no_leakage(train,test)", False)),
            ),
        ],
        [METRICS],
        run_facets={"tracemark_energy": _energy(6.2, 2.2, "1x NVIDIA L4", 0.5)},
    )
    events += _run_events(
        SERVING, "serve.credit_scoring", train_at + timedelta(hours=8), [_ref(MODEL)], [], minutes=60 * 24
    )
    events += _run_events(
        "flower://federation",
        "fl.credit_round_1",
        train_at + timedelta(hours=10),
        [_ref(MODEL)],
        [FED_MODEL],
        minutes=90,
        run_facets={
            "tracemark_energy": _energy(38.0, 11.4, "2 sites x 1x NVIDIA A10", 3.0),
            "tracemark_federation": _tracemark(
                "FederationRunFacet",
                privacyTechnique="secure-aggregation",
                sites=[
                    {"name": "berlin", "jurisdiction": "DE", "role": "aggregator"},
                    {"name": "zurich", "jurisdiction": "CH", "role": "participant"},
                ],
                transfers=[
                    {"fromSite": "zurich", "toSite": "berlin", "content": "model_updates"},
                    {"fromSite": "zurich", "toSite": "berlin", "content": "raw_data"},
                ],
            ),
        },
    )
    gpai_at = START + timedelta(days=1)
    events += _run_events(
        "ml://factory-eu",
        "train.assistant_7b",
        gpai_at,
        [WEB_CRAWL, NEWS],
        [ASSISTANT],
        minutes=60 * 30,
        run_facets={"tracemark_energy": _energy(18_400.0, 6_624.0, "64x NVIDIA H100 80GB", 1_920.0)},
    )
    return events


# --- Catalog set-up, applied by seed_demo after the events ------------------------------------

CREDIT = {
    "slug": CREDIT_SLUG,
    "name": "Consumer credit scoring",
    "provider": "Factory Bank AG",
    "version": "3",
    "intended_purpose": "Score consumer loan applications for creditworthiness; a loan officer decides.",
    "risk_tier": "high-risk",
    "annex_iii_area": "essential-services",
    "deployer": "Factory Bank AG, retail lending",
    "status": "deployed",
    "allowed_jurisdictions": ["EU"],
    "log_retention_days": 365,
}
ASSISTANT_SYSTEM = {
    "slug": ASSISTANT_SLUG,
    "name": "Factory assistant 7B",
    "provider": "Factory Bank AG",
    "version": "1",
    "intended_purpose": "General-purpose text model for internal assistants.",
    "risk_tier": "general-purpose",
    "deployer": "",
    "status": "development",
    "allowed_jurisdictions": ["EU"],
    "log_retention_days": 90,
}
# (system, role, target, kind, pattern)
SYSTEM_RULES = (
    (CREDIT_SLUG, "training_job", "job", "name", "train.credit_scoring"),
    (CREDIT_SLUG, "training_job", "job", "namespace", "flower://*"),
    (CREDIT_SLUG, "evaluation_job", "job", "name", "evaluate.credit_scoring"),
    (CREDIT_SLUG, "serving_job", "job", "namespace", SERVING),
    (ASSISTANT_SLUG, "training_job", "job", "name", "train.assistant_7b"),
)
# (system, role, namespace, dataset)
SYSTEM_DATASETS = (
    (CREDIT_SLUG, "training_data", TRAIN_SPLIT["namespace"], TRAIN_SPLIT["name"]),
    (CREDIT_SLUG, "test_data", TEST_SPLIT["namespace"], TEST_SPLIT["name"]),
    (ASSISTANT_SLUG, "model", ASSISTANT["namespace"], ASSISTANT["name"]),
)
# (name, attribute, value, namespace pattern)
GOVERNANCE_RULES = (
    ("Feature store lives in Frankfurt", "jurisdiction", "DE", "s3://factory-features-eu"),
    ("Model registry lives in Frankfurt", "jurisdiction", "DE", "mlflow://models.factory.eu"),
    ("Feature store: internal licence", "license", "LicenseRef-internal", "s3://factory-features-eu"),
    ("Feature store: derived data", "origin", "collected", "s3://factory-features-eu"),
    ("Feature store: loan contracts", "legal_basis", "contract (GDPR Art. 6(1)(b))", "s3://factory-features-eu"),
)
DECLARATIONS = (
    (CREDIT_SLUG, "human_oversight", "Every automated decline is reviewed by a loan officer before it is sent."),
    (CREDIT_SLUG, "instructions_for_use", "Use only for consumer loans up to EUR 50,000 in the EU."),
)
