"""Operations: metrics computed at scrape time, readiness, graceful shutdown of web and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
import requests
from django.test import Client
from django.utils import timezone

from lineage.models import LedgerEntry, OutboxMessage
from lineage.services import api_key_issue, events_ingest
from tests.factories import run_event
from tests.servers import GunicornServer, free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def _metric(body: str, name: str) -> float:
    (line,) = [line for line in body.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


@pytest.mark.django_db
def test_metrics_report_outbox_depth_and_lag_from_the_database(client: Client, settings) -> None:
    settings.TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT = False
    events_ingest(events=[run_event()])
    events_ingest(events=[run_event()])
    oldest = OutboxMessage.objects.order_by("id").first()
    OutboxMessage.objects.filter(pk=oldest.pk).update(created_at=oldest.created_at - timedelta(minutes=5))

    body = client.get("/metrics").content.decode()

    assert _metric(body, "tracemark_outbox_pending") == 2
    assert 300 <= _metric(body, "tracemark_outbox_lag_seconds") < 400
    assert _metric(body, "tracemark_ledger_entries") == 2


@pytest.mark.django_db
def test_metrics_show_no_lag_once_the_outbox_is_drained(client: Client, settings) -> None:
    settings.TRACEMARK_OUTBOX_DISPATCH_ON_COMMIT = False
    events_ingest(events=[run_event()])
    OutboxMessage.objects.update(dispatched_at=timezone.now())

    body = client.get("/metrics").content.decode()

    assert _metric(body, "tracemark_outbox_pending") == 0
    assert _metric(body, "tracemark_outbox_lag_seconds") == 0


@pytest.mark.django_db
def test_metrics_count_intake_errors_by_status_code(client: Client, producer_key) -> None:
    headers = {"Authorization": f"Bearer {producer_key.secret}"}
    client.post("/api/v1/lineage", b"{", content_type="application/json", headers=headers)

    body = client.get("/metrics").content.decode()

    assert 'tracemark_intake_requests_total{code="400",endpoint="lineage"}' in body


def _child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(TRACEMARK_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
    env.update(extra)
    return env


@pytest.mark.slow
def test_readyz_answers_503_naming_the_broker_when_it_is_down(tmp_path: Path) -> None:
    port = free_port()
    env = _child_env(tmp_path, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", LOG_LEVEL="CRITICAL")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)

        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    assert ready.status_code == 503
    assert any(p.startswith("broker") for p in ready.json()["problems"])


# --- Graceful shutdown ---------------------------------------------------------------------------


def _test_db_dsn() -> str:
    from django.db import connection

    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )


def _wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.slow
def test_sigterm_lets_gunicorn_finish_the_request_in_flight(gunicorn_server: GunicornServer) -> None:
    key = api_key_issue(name="graceful").secret
    events_ingest(events=[run_event()])  # the ledger head row exists, so the intake will wait on its lock
    outcome: dict[str, object] = {}

    def post() -> None:
        try:
            outcome["response"] = requests.post(
                f"{gunicorn_server.url}/api/v1/lineage",
                data=orjson.dumps(run_event(job="in-flight")),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                timeout=60,
            )
        except requests.RequestException as exc:
            outcome["error"] = exc

    with psycopg.connect(_test_db_dsn()) as blocker:
        # Hold the ledger head: the request blocks inside its transaction, mid-request.
        blocker.execute("SELECT seq FROM lineage_ledgerhead WHERE id = 1 FOR UPDATE")
        sender = threading.Thread(target=post)
        sender.start()
        with psycopg.connect(_test_db_dsn(), autocommit=True) as watcher:
            _wait_until(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                        ["%lineage_ledgerhead%"],
                    ).fetchone()[0]
                    > 0
                )
            )
        gunicorn_server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # gunicorn has stopped accepting; the worker still holds the request
        blocker.rollback()
    sender.join(timeout=60)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["response"].status_code == 201
    assert LedgerEntry.objects.filter(payload__contains="in-flight").count() == 1
    assert gunicorn_server.process.wait(timeout=30) == 0


@pytest.mark.redis
@pytest.mark.slow
def test_sigterm_lets_a_celery_worker_finish_its_running_task(redis_url: str, tmp_path: Path) -> None:
    from celery import Celery

    env = _child_env(tmp_path, CELERY_BROKER_URL=redis_url)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-I",
            "tests.faults.slow_task",
            "-Q",
            "shutdown-test",
            "--concurrency",
            "1",
            "-l",
            "WARNING",
            "-n",
            f"shutdown-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        sender = Celery(broker=redis_url)
        sender.send_task("tests.faults.sleep_then_mark", args=[str(tmp_path), 3.0], queue="shutdown-test")
        _wait_until(lambda: (tmp_path / "started").exists(), timeout=60)

        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert (tmp_path / "finished").exists()
    assert code == 0
