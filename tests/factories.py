"""Factories for tests: OpenLineage events as plain dicts, and model rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import factory

from lineage.models import ApiKey
from lineage.services import api_key_hash

PRODUCER = "https://github.com/tracemark/tests"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"producer-{n}")
    prefix = "tm_test"
    key_hash = factory.LazyFunction(lambda: api_key_hash(uuid.uuid4().hex))


def dataset(namespace: str = "s3://bucket", name: str = "raw/events", **facets: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(
    *,
    event_type: str = "COMPLETE",
    run_id: str | None = None,
    namespace: str = "airflow://eu",
    job: str = "etl.load",
    when: datetime | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": (when or T0).isoformat(),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": job, "facets": {}},
        "inputs": inputs if inputs is not None else [dataset(name="raw/in")],
        "outputs": outputs if outputs is not None else [dataset(name="clean/out")],
    }


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- Catalog: Tracemark facets and AI systems (appended for the governance catalog) -------------

TRACEMARK_SCHEMA = "https://tracemark.example.org/schemas/tracemark"


def tracemark_facet(schema: str, /, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{TRACEMARK_SCHEMA}/{schema}/1-0-0.json", **fields}


def governed(namespace: str, name: str, columns: tuple[str, ...] = (), **governance: Any) -> dict[str, Any]:
    """A dataset node with a schema facet and, if any values are given, a governance facet."""
    facets: dict[str, Any] = {}
    if columns:
        facets["schema"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
            "fields": [{"name": c, "type": "STRING"} for c in columns],
        }
    if governance:
        facets["tracemark_governance"] = tracemark_facet("DatasetGovernanceDatasetFacet", **governance)
    return dataset(namespace, name, **facets)


def energy_facet(kwh: float, kg: float, **more: Any) -> dict[str, Any]:
    return tracemark_facet("EnergyRunFacet", energyKwh=kwh, emissionsKgCo2e=kg, **more)


def quality_facet(*results: tuple[str, bool]) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json",
        "assertions": [{"assertion": name, "success": ok} for name, ok in results],
    }


class AISystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.AISystem"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"system-{n}")
    provider = "Factory GmbH"
    risk_tier = "high-risk"
    annex_iii_area = "essential-services"
    status = "deployed"
    allowed_jurisdictions = factory.LazyFunction(lambda: ["EU"])
    log_retention_days = 365
