"""Classifications flow downstream: columns through DIRECT, unmasked edges; datasets conservatively."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.propagation import ColumnEdge, carries, column_lineage_model
from catalog.selectors import governance_get
from catalog.services import assertion_set
from tests.catalog.conftest import Ingest, ds
from tests.factories import PRODUCER, dataset, governed, later, run_event

pytestmark = pytest.mark.django_db
needs_column_lineage = pytest.mark.skipif(
    column_lineage_model() is None, reason="lineage.ColumnLineageEdge not available yet"
)


def classes(namespace: str, name: str, column: str = "") -> set[str]:
    gov = governance_get(dataset_ids=[ds(namespace, name).pk])[ds(namespace, name).pk]
    if column:
        return {v.value for v in gov.columns.get(column, {}).get("classification", [])}
    return {v.value for v in gov.values.get("classification", [])}


def with_lineage(
    namespace: str, name: str, columns: dict[str, list[tuple[str, str, str, str, bool]]]
) -> dict[str, Any]:
    """An output dataset with a column-lineage facet: column → [(ns, dataset, field, type, masking)]."""
    fields = {
        out: {
            "inputFields": [
                {
                    "namespace": ns,
                    "name": src,
                    "field": field,
                    "transformations": [
                        {"type": kind, "subtype": "IDENTITY" if kind == "DIRECT" else "JOIN", "masking": masking}
                    ],
                }
                for ns, src, field, kind, masking in inputs
            ]
        }
        for out, inputs in columns.items()
    }
    facet = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": fields,
    }
    return dataset(namespace, name, columnLineage=facet)


def test_dataset_classification_flows_to_outputs_of_a_job_without_column_lineage(ingest: Ingest) -> None:
    raw = governed("s3://raw", "customers", classifications=["pii"])

    ingest(
        run_event(job="clean", inputs=[raw], outputs=[dataset("s3://clean", "customers")]),
        run_event(
            job="features", inputs=[dataset("s3://clean", "customers")], outputs=[dataset("s3://f", "x")], when=later(5)
        ),
    )

    assert classes("s3://f", "x") == {"pii"}


def test_inferred_value_shows_the_path_it_came_along(ingest: Ingest) -> None:
    raw = governed("s3://raw", "customers", classifications=["pii"])
    ingest(
        run_event(job="clean", inputs=[raw], outputs=[dataset("s3://clean", "customers")]),
        run_event(
            job="features", inputs=[dataset("s3://clean", "customers")], outputs=[dataset("s3://f", "x")], when=later(5)
        ),
    )

    (value,) = governance_get(dataset_ids=[ds("s3://f", "x").pk])[ds("s3://f", "x").pk].values["classification"]

    assert value.source == "propagation"
    assert value.evidence["path"] == [
        "dataset:s3://raw:customers",
        "job:airflow://eu:clean",
        "dataset:s3://clean:customers",
        "job:airflow://eu:features",
        "dataset:s3://f:x",
    ]
    assert value.evidence["origin"]["source"] == "facet"


def test_classification_that_does_not_propagate_stays_put(ingest: Ingest) -> None:
    raw = governed("s3://raw", "synthetic", classifications=["synthetic", "confidential"])

    ingest(run_event(inputs=[raw], outputs=[dataset("s3://out", "x")]))

    assert classes("s3://out", "x") == {"confidential"}


def test_classification_added_later_upstream_reaches_existing_outputs(ingest: Ingest) -> None:
    ingest(run_event(inputs=[dataset("s3://raw", "a")], outputs=[dataset("s3://out", "b")]))

    ingest(
        run_event(
            job="describe", inputs=[], outputs=[governed("s3://raw", "a", classifications=["pii"])], when=later(5)
        )
    )

    assert classes("s3://out", "b") == {"pii"}


def test_classification_removed_upstream_is_withdrawn_downstream(ingest: Ingest) -> None:
    ingest(run_event(inputs=[governed("s3://raw", "a", classifications=["pii"])], outputs=[dataset("s3://out", "b")]))

    ingest(run_event(job="describe", inputs=[], outputs=[governed("s3://raw", "a", classifications=[])], when=later(5)))

    assert classes("s3://out", "b") == set()


def test_staff_override_stops_an_inferred_classification_and_everything_below_it(ingest: Ingest) -> None:
    ingest(
        run_event(
            job="hash", inputs=[governed("s3://raw", "a", classifications=["pii"])], outputs=[dataset("s3://h", "b")]
        ),
        run_event(job="agg", inputs=[dataset("s3://h", "b")], outputs=[dataset("s3://agg", "c")], when=later(5)),
    )
    assert classes("s3://agg", "c") == {"pii"}

    assertion_set(
        dataset_id=ds("s3://h", "b").pk,
        attribute="classification",
        value="pii",
        present=False,
        actor="dpo",
        reason="salted hashes",
    )
    from catalog.propagation import classifications_propagate

    classifications_propagate(dataset_ids=[ds("s3://h", "b").pk])

    assert classes("s3://h", "b") == set()
    assert classes("s3://agg", "c") == set()


@needs_column_lineage
def test_pii_column_stays_pii_through_a_direct_join(ingest: Ingest) -> None:
    raw = governed("s3://raw", "customers", ("id", "iban"), fields={"iban": {"classifications": ["pii"]}})
    out = with_lineage(
        "s3://f",
        "joined",
        {
            "iban": [("s3://raw", "customers", "iban", "DIRECT", False)],
            "id": [("s3://raw", "customers", "id", "INDIRECT", False)],
        },
    )

    ingest(run_event(inputs=[raw], outputs=[out]))

    assert classes("s3://f", "joined", "iban") == {"pii"}
    assert classes("s3://f", "joined", "id") == set()
    assert classes("s3://f", "joined") == set()


@needs_column_lineage
def test_masking_transformation_removes_pii(ingest: Ingest) -> None:
    raw = governed("s3://raw", "customers", ("iban",), fields={"iban": {"classifications": ["pii"]}})
    out = with_lineage("s3://f", "masked", {"iban_hash": [("s3://raw", "customers", "iban", "DIRECT", True)]})

    ingest(run_event(inputs=[raw], outputs=[out]))

    assert classes("s3://f", "masked", "iban_hash") == set()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["DIRECT", "INDIRECT"]), masking=st.booleans())
def test_an_edge_carries_exactly_when_direct_and_unmasked(kind: str, masking: bool) -> None:
    edge = ColumnEdge(1, "out", 2, "in", kind, masking, None)

    assert carries(edge) is (kind == "DIRECT" and not masking)
