"""Governance metadata: sources, precedence, ledger records and as-of reads."""

from __future__ import annotations

import orjson
import pytest

from catalog.exceptions import CatalogInvalid
from catalog.models import GovernanceAssertion
from catalog.selectors import governance_get
from catalog.services import assertion_set, governance_rule_add
from lineage.models import LedgerEntry
from tests.catalog.conftest import Ingest, ds
from tests.factories import governed, later, run_event

pytestmark = pytest.mark.django_db

BUCKET = "s3://lake-fra"


def _load(ingest: Ingest, minutes: int = 0, **governance: object) -> None:
    ingest(
        run_event(when=later(minutes), inputs=[], outputs=[governed(BUCKET, "loans", ("iban", "income"), **governance)])
    )


def test_governance_facet_sets_values_from_the_event_that_carried_it(ingest: Ingest) -> None:
    _load(ingest, jurisdiction="de", license="CC-BY-4.0", classifications=["PII"])

    gov = governance_get(dataset_ids=[ds(BUCKET, "loans").pk])[ds(BUCKET, "loans").pk]

    assert gov.first("jurisdiction") == "DE"
    assert gov.first("license") == "CC-BY-4.0"
    assert gov.all_classifications() == {"pii"}
    assert gov.values["jurisdiction"][0].source == "facet"
    assert gov.values["jurisdiction"][0].first_seq == LedgerEntry.objects.filter(kind="event").get().seq


def test_later_facet_replaces_a_value_and_the_earlier_one_stays_readable_as_of_its_sequence(ingest: Ingest) -> None:
    _load(ingest, jurisdiction="DE")
    first_seq = LedgerEntry.objects.filter(kind="event").get().seq
    _load(ingest, minutes=5, jurisdiction="FR")
    dataset_id = ds(BUCKET, "loans").pk

    now = governance_get(dataset_ids=[dataset_id])[dataset_id]
    then = governance_get(dataset_ids=[dataset_id], as_of_seq=first_seq)[dataset_id]

    assert now.first("jurisdiction") == "FR"
    assert then.first("jurisdiction") == "DE"


def test_column_classifications_from_a_facet_are_kept_per_column(ingest: Ingest) -> None:
    _load(ingest, fields={"iban": {"classifications": ["pii", "financial"]}})
    dataset_id = ds(BUCKET, "loans").pk

    gov = governance_get(dataset_ids=[dataset_id])[dataset_id]

    assert {v.value for v in gov.columns["iban"]["classification"]} == {"pii", "financial"}
    assert "income" not in gov.columns


def test_staff_value_beats_the_producer_facet(ingest: Ingest) -> None:
    _load(ingest, jurisdiction="DE")
    dataset_id = ds(BUCKET, "loans").pk

    assertion_set(dataset_id=dataset_id, attribute="jurisdiction", value="FR", actor="dpo", reason="moved to Paris")

    gov = governance_get(dataset_ids=[dataset_id])[dataset_id]
    assert gov.first("jurisdiction") == "FR"
    assert gov.values["jurisdiction"][0].actor == "dpo"
    assert gov.values["jurisdiction"][0].reason == "moved to Paris"


def test_staff_edit_is_written_to_the_ledger_with_who_and_why(ingest: Ingest) -> None:
    _load(ingest)

    created = assertion_set(
        dataset_id=ds(BUCKET, "loans").pk,
        field="iban",
        attribute="classification",
        value="PII",
        actor="dpo",
        reason="IBANs",
    )

    entry = LedgerEntry.objects.get(seq=created.first_seq)
    payload = orjson.loads(entry.payload)
    assert entry.kind == "governance"
    assert payload["actor"] == "dpo"
    assert payload["details"] == {"attribute": "classification", "value": "pii", "present": True, "reason": "IBANs"}
    assert payload["subject"] == f"dataset:{BUCKET}:loans:iban"


def test_staff_edit_without_a_reason_is_refused(ingest: Ingest) -> None:
    _load(ingest)

    with pytest.raises(CatalogInvalid):
        assertion_set(dataset_id=ds(BUCKET, "loans").pk, attribute="license", value="MIT", actor="dpo", reason="")


def test_staff_override_removes_a_classification_that_a_facet_asserts(ingest: Ingest) -> None:
    _load(ingest, classifications=["pii", "confidential"])
    dataset_id = ds(BUCKET, "loans").pk

    assertion_set(
        dataset_id=dataset_id, attribute="classification", value="pii", present=False, actor="dpo", reason="hashed"
    )

    assert governance_get(dataset_ids=[dataset_id])[dataset_id].all_classifications() == {"confidential"}


def test_namespace_rule_sets_the_jurisdiction_of_matching_datasets(ingest: Ingest) -> None:
    _load(ingest)
    ingest(run_event(job="other", inputs=[], outputs=[governed("s3://lake-us", "clicks")]))

    governance_rule_add(
        name="Frankfurt lake", attribute="jurisdiction", value="DE", namespace_pattern="s3://*-fra", actor="dpo"
    )

    found = governance_get(dataset_ids=[ds(BUCKET, "loans").pk, ds("s3://lake-us", "clicks").pk])
    assert found[ds(BUCKET, "loans").pk].values["jurisdiction"][0].source == "rule"
    assert found[ds(BUCKET, "loans").pk].first("jurisdiction") == "DE"
    assert found[ds("s3://lake-us", "clicks").pk].first("jurisdiction") == ""


def test_rule_applies_to_datasets_that_arrive_after_it(ingest: Ingest) -> None:
    governance_rule_add(
        name="Frankfurt lake", attribute="jurisdiction", value="DE", namespace_pattern="s3://*-fra", actor="dpo"
    )

    _load(ingest)

    dataset_id = ds(BUCKET, "loans").pk
    assert governance_get(dataset_ids=[dataset_id])[dataset_id].first("jurisdiction") == "DE"


def test_column_rule_classifies_matching_columns(ingest: Ingest) -> None:
    _load(ingest)

    governance_rule_add(name="IBANs", attribute="classification", value="pii", field_pattern="*iban*", actor="dpo")

    dataset_id = ds(BUCKET, "loans").pk
    gov = governance_get(dataset_ids=[dataset_id])[dataset_id]
    assert set(gov.columns) == {"iban"}


def test_facet_value_beats_a_rule(ingest: Ingest) -> None:
    governance_rule_add(name="lake", attribute="jurisdiction", value="EU", namespace_pattern="s3://*", actor="dpo")

    _load(ingest, jurisdiction="DE")

    dataset_id = ds(BUCKET, "loans").pk
    assert governance_get(dataset_ids=[dataset_id])[dataset_id].first("jurisdiction") == "DE"


def test_reading_the_same_facets_again_changes_nothing(ingest: Ingest) -> None:
    _load(ingest, jurisdiction="DE", classifications=["pii"])
    before = list(GovernanceAssertion.objects.values_list("pk", "first_seq", "valid_to_seq"))
    decisions = LedgerEntry.objects.filter(kind="governance").count()

    _load(ingest, minutes=5, jurisdiction="DE", classifications=["pii"])

    assert list(GovernanceAssertion.objects.values_list("pk", "first_seq", "valid_to_seq")) == before
    assert LedgerEntry.objects.filter(kind="governance").count() == decisions
