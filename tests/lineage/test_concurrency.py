"""Several web processes writing at once: the chain stays whole and nothing is stored twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
import requests

from lineage.graph import graph_head_seq
from lineage.ledger import ledger_verify
from lineage.models import FoldFailure, Job, LedgerEntry, Run
from lineage.services import api_key_issue
from tests.factories import run_event
from tests.servers import GunicornServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _post_all(url: str, key: str, bodies: list[bytes]) -> list[int]:
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        return [session.post(f"{url}/api/v1/lineage", data=body, timeout=30).status_code for body in bodies]


def test_concurrent_writers_through_several_gunicorn_workers_keep_the_chain_whole(
    gunicorn_server: GunicornServer,
) -> None:
    key = api_key_issue(name="concurrent").secret
    bodies = [[orjson.dumps(run_event(job=f"job-{c}-{i}")) for i in range(40)] for c in range(6)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = [code for batch in pool.map(lambda b: _post_all(gunicorn_server.url, key, b), bodies) for code in batch]

    assert codes.count(201) == 240
    assert list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 241))
    assert ledger_verify().ok
    # Every answer came after its event was folded: the graph holds all 240, each once.
    assert graph_head_seq() == 240
    assert Job.objects.count() == 240
    assert Run.objects.count() == 240
    assert not FoldFailure.objects.exists()


def test_the_same_event_sent_by_many_clients_at_once_is_stored_once(gunicorn_server: GunicornServer) -> None:
    key = api_key_issue(name="racing").secret
    body = orjson.dumps(run_event())

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [
            c for batch in pool.map(lambda _: _post_all(gunicorn_server.url, key, [body]), range(8)) for c in batch
        ]

    assert sorted(codes) == [200] * 7 + [201]
    assert LedgerEntry.objects.count() == 1
