"""A real Celery worker on Redis: events posted over HTTP become findings; a broker outage loses nothing.

These start ``celery -A config worker -B`` as a subprocess on the test's own PostgreSQL database
(a subprocess cannot share SQLite's in-memory test database), so they skip on SQLite runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis
import requests
from celery import current_app
from django.db import connection

from catalog.models import Finding
from catalog.services import system_register, system_rule_add
from lineage.models import OutboxMessage
from lineage.services import IssuedKey, api_key_issue
from tests.factories import governed, run_event
from tests.servers import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _use_broker(url: str) -> None:
    """Point this process's Celery app (the intake's after-commit publisher) at ``url``."""
    current_app.conf.broker_url = url
    current_app.conf.broker_transport_options = {}
    current_app._pool = None
    current_app.amqp._producer_pool = None


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def start_worker(tmp_path: Path, transactional_db: None) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    original = current_app.conf.broker_url

    def start(broker_url: str) -> subprocess.Popen[bytes]:
        _use_broker(broker_url)
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker_url,
            "TRACEMARK_VAR_DIR": str(tmp_path),
            "TRACEMARK_OUTBOX_DRAIN_SECONDS": "1",
            "LOG_FORMAT": "plain",
        }
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "--pool=solo",
                "-l",
                "info",
                "-s",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    _use_broker(original)


@pytest.fixture
def key(transactional_db: None) -> IssuedKey:
    return api_key_issue(name="pipeline")


def _system_watching_ml_jobs() -> None:
    system = system_register(slug="credit", name="Credit", actor="alice", allowed_jurisdictions=["EU"])
    system_rule_add(
        system_id=system.pk, role="training_job", target="job", kind="namespace", pattern="ml://*", actor="a"
    )


def _post(live_server, key: IssuedKey, bucket: str) -> requests.Response:
    event = run_event(namespace="ml://eu", job="train", inputs=[governed(bucket, "raw", jurisdiction="US")], outputs=[])
    return requests.post(
        f"{live_server.url}/api/v1/lineage",
        data=orjson.dumps(event),
        headers={"Authorization": f"Bearer {key.secret}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_event_posted_over_http_becomes_a_finding_via_the_worker(
    live_server, key: IssuedKey, redis_url: str, start_worker
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    _system_watching_ml_jobs()
    start_worker(redis_url)

    response = _post(live_server, key, "s3://us-east")

    assert response.status_code == 201
    wait_for(lambda: Finding.objects.filter(policy_key="data-residency", item="dataset:s3://us-east:raw").exists())
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()


def test_outbox_drains_after_redis_is_stopped_and_started_again(
    live_server, key: IssuedKey, start_worker, tmp_path: Path
) -> None:
    server = os.environ.get("TRACEMARK_TEST_REDIS_SERVER")
    if not server:
        pytest.skip("TRACEMARK_TEST_REDIS_SERVER unset (make test exports it)")
    port = free_port()

    def start_redis() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: _pings(port), timeout=10)
        return proc

    broker = start_redis()
    _system_watching_ml_jobs()
    start_worker(f"redis://127.0.0.1:{port}/0")
    try:
        broker.terminate()
        broker.wait(timeout=10)

        codes = [_post(live_server, key, f"s3://us-{n}").status_code for n in range(3)]

        assert codes == [201, 201, 201]
        assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 3
        broker = start_redis()
        wait_for(lambda: not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists(), timeout=90)
        wait_for(lambda: Finding.objects.filter(policy_key="data-residency").count() == 3, timeout=60)
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.exceptions.ConnectionError:
        return False
