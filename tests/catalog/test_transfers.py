"""Cross-border transfers by jobs and federated rounds."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import Ingest
from tests.factories import governed, run_event, tracemark_facet

pytestmark = pytest.mark.django_db


def test_job_copying_german_data_to_the_us_is_a_transfer_finding(ingest: Ingest, evaluate_jobs) -> None:
    ingest(
        run_event(
            job="export",
            inputs=[governed("s3://de", "a", jurisdiction="DE")],
            outputs=[governed("s3://us", "b", jurisdiction="US")],
        )
    )

    (finding,) = evaluate_jobs()

    assert finding.subject == "job:airflow://eu:export"
    assert finding.evidence["from"]["jurisdiction"] == "DE"
    assert finding.evidence["to"]["jurisdiction"] == "US"


def test_moving_data_inside_the_eu_is_not_a_transfer(ingest: Ingest, evaluate_jobs) -> None:
    ingest(
        run_event(
            inputs=[governed("s3://de", "a", jurisdiction="DE")], outputs=[governed("s3://fr", "b", jurisdiction="FR")]
        )
    )

    assert evaluate_jobs() == []


def test_aggregated_output_is_not_a_transfer(ingest: Ingest, evaluate_jobs) -> None:
    out = governed("s3://us", "stats", jurisdiction="US", classifications=["aggregated"])
    ingest(run_event(inputs=[governed("s3://de", "a", jurisdiction="DE")], outputs=[out]))

    assert evaluate_jobs() == []


def _round(content: str) -> dict:
    return tracemark_facet(
        "FederationRunFacet",
        privacyTechnique="secure-aggregation",
        sites=[{"name": "berlin", "jurisdiction": "DE"}, {"name": "boston", "jurisdiction": "US"}],
        transfers=[{"fromSite": "berlin", "toSite": "boston", "content": content}],
    )


def test_federated_round_shipping_raw_data_across_zones_is_a_transfer_finding(ingest: Ingest, evaluate_jobs) -> None:
    ingest(run_event(job="fl.round", inputs=[], outputs=[], run_facets={"tracemark_federation": _round("raw_data")}))

    (finding,) = evaluate_jobs()

    assert finding.item.endswith(":berlin->boston")
    assert finding.evidence["technique"] == "secure-aggregation"


def test_federated_round_shipping_model_updates_is_not_a_transfer(ingest: Ingest, evaluate_jobs) -> None:
    ingest(
        run_event(job="fl.round", inputs=[], outputs=[], run_facets={"tracemark_federation": _round("model_updates")})
    )

    assert evaluate_jobs() == []
