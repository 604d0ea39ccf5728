from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import requests
from django.test import Client

from tests.factories import run_event
from tests.servers import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(TRACEMARK_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings", **overrides)
    return env


def test_healthz_answers_ok_without_touching_the_database(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_broker(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200


@pytest.mark.django_db
def test_metrics_expose_intake_counters_after_an_event(client: Client, producer_key) -> None:
    client.post(
        "/api/v1/lineage",
        orjson.dumps(run_event()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {producer_key.secret}"},
    )

    body = client.get("/metrics").content.decode()

    assert 'tracemark_intake_events_total{status="accepted"}' in body
    assert "tracemark_intake_request_seconds_bucket" in body


def test_responses_carry_a_request_id(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})

    assert response["X-Request-ID"] == "abc-123"


def test_production_settings_refuse_default_secret_sqlite_and_filesystem_broker(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_env(tmp_path, DEBUG="0", ALLOWED_HOSTS="tracemark.example.org"),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    for code in ("tracemark.E001", "tracemark.E002", "tracemark.E003"):
        assert code in result.stderr


def test_bad_boolean_in_environment_fails_loudly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_env(tmp_path, DEBUG="maybe"),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.slow
def test_database_outage_answers_503_with_retry_after(tmp_path: Path) -> None:
    dead_port = free_port()
    port = free_port()
    env = _env(tmp_path, DATABASE_URL=f"postgres://nobody@127.0.0.1:{dead_port}/tracemark", LOG_LEVEL="CRITICAL")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)

        response = requests.post(
            f"http://127.0.0.1:{port}/api/v1/lineage",
            data=orjson.dumps(run_event()),
            headers={"Authorization": "Bearer tm_whatever", "Content-Type": "application/json"},
            timeout=30,
        )
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "database" in response.json()["message"]
    assert ready.status_code == 503
