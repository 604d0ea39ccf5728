"""Every complete corpus event goes through the real endpoint and the fold; invalid ones get a 400."""

from __future__ import annotations

import orjson
import pytest
from rest_framework.test import APIClient

from lineage.ledger import ledger_verify
from lineage.models import LedgerEntry
from tests.corpus import CORPUS, complete_corpus_files, corpus_params, invalid_corpus_files, load_events

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("case", corpus_params(complete_corpus_files))
def test_complete_corpus_event_is_accepted_over_http(producer: APIClient, case: tuple[str, object]) -> None:
    file, _kinds = case
    events = load_events(CORPUS / file)

    codes = [
        producer.generic("POST", "/api/v1/lineage", orjson.dumps(e), content_type="application/json").status_code
        for e in events
    ]

    assert set(codes) <= {200, 201}
    assert LedgerEntry.objects.count() >= 1


@pytest.mark.parametrize("name", corpus_params(invalid_corpus_files))
def test_invalid_corpus_event_gets_400_naming_the_problem(producer: APIClient, name: str) -> None:
    (event,) = load_events(CORPUS / "spec" / "proxy-fluentd" / "invalid" / name)

    response = producer.generic("POST", "/api/v1/lineage", orjson.dumps(event), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"]
    assert LedgerEntry.objects.count() == 0


def test_whole_corpus_replayed_as_one_batch_keeps_the_ledger_valid(producer: APIClient) -> None:
    if not CORPUS.is_dir():
        pytest.skip("OpenLineage corpus not found at ../shared/openlineage-corpus")
    events = [e for _name, (file, _k) in complete_corpus_files() for e in load_events(CORPUS / file)]

    response = producer.generic("POST", "/api/v1/lineage/batch", orjson.dumps(events), content_type="application/json")

    body = response.json()
    assert body["invalid"] == 0
    assert body["accepted"] + body["duplicate"] == len(events)
    assert ledger_verify().ok
