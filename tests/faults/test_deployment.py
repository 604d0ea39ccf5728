"""The production topology of docs/deploy.md, on this machine: every command of the guide, run as written.

Two gunicorn processes (as on two machines) and two Celery workers plus one beat share one PostgreSQL
and one Redis; the OpenLineage client posts through both web processes; the outbox drains, the
ledger verifies.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Dataset, Job, Run, RunEvent, RunState
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from lineage.models import LedgerEntry, OutboxMessage
from tests.servers import free_port, wait_for_http

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def production_env(subprocess_env: dict[str, str], redis_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment docs/deploy.md lists, pointed at the test database and a disposable Redis."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    return {
        **subprocess_env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": redis_url,
        "BEHIND_TLS_PROXY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "LOG_LEVEL": "WARNING",
    }


def _run(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, f"{' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, cwd=ROOT, env=env)
        self.running.append(proc)
        return proc

    def stop_all(self) -> list[int | None]:
        for proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.running:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(None)
        return codes


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()


def _event(run_id: str, web: int) -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(tz=UTC).isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace="airflow://deploy-test", name=f"load-{web}"),
        producer="https://github.com/tracemark/tests/deploy",
        inputs=[Dataset(namespace="s3://raw", name=f"table-{web}")],
        outputs=[Dataset(namespace="s3://clean", name=f"table-{web}")],
    )


def test_two_web_processes_and_two_workers_on_one_postgres_and_one_redis(
    production_env: dict[str, str], processes: Processes, tmp_path: Path
) -> None:
    env = production_env
    py, manage = sys.executable, "manage.py"
    # Release steps (docs/deploy.md, "Each release").
    deploy_check = _run(env, py, manage, "check", "--deploy")
    _run(env, py, manage, "migrate", "--noinput")
    _run(env, py, manage, "collectstatic", "--noinput")
    key = re.search(r"\btm_[A-Za-z0-9_-]+", _run(env, py, manage, "issue_api_key", "deploy-test")).group(0)
    # Web machines (two), workers (two), beat (exactly one).
    ports = [free_port(), free_port()]
    webs = [
        processes.start(
            env,
            str(VENV_BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "4",
            "--graceful-timeout",
            "30",
            "--timeout",
            "60",
            "--max-requests",
            "10000",
            "--max-requests-jitter",
            "1000",
            "--forwarded-allow-ips",
            "127.0.0.1",
        )
        for port in ports
    ]
    for name in ("worker1", "worker2"):
        processes.start(
            env, str(VENV_BIN / "celery"), "-A", "config", "worker", "-Q", "celery,reports",
            "--concurrency", "2", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "-l", "WARNING",
        )  # fmt: skip
    beat_schedule = str(tmp_path / "celerybeat-schedule")
    processes.start(env, str(VENV_BIN / "celery"), "-A", "config", "beat", "-s", beat_schedule, "-l", "WARNING")
    for port, web in zip(ports, webs, strict=True):
        wait_for_http(f"http://127.0.0.1:{port}/readyz", web, timeout=60)

    clients = [
        OpenLineageClient(
            transport=HttpTransport(
                HttpConfig(url=f"http://127.0.0.1:{port}", auth=ApiKeyTokenProvider({"apiKey": key}))
            )
        )
        for port in ports
    ]
    for i in range(200):
        clients[i % 2].emit(_event(str(uuid.uuid4()), web=i % 2))
    deadline = time.monotonic() + 90
    while OutboxMessage.objects.filter(dispatched_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    pings = _run(env, str(VENV_BIN / "celery"), "-A", "config", "inspect", "ping", "--timeout", "5")
    verified = _run(env, py, manage, "verify_ledger")
    metrics = requests.get(f"http://127.0.0.1:{ports[0]}/metrics", timeout=10).text
    # "Reverse proxy and TLS": a request as the proxy forwards an HTTPS one.
    behind_tls = _run(
        env, "curl", "-sS", "-o", "/dev/null", "-D", "-", "-H", "X-Forwarded-Proto: https",
        f"http://127.0.0.1:{ports[0]}/healthz",
    )  # fmt: skip
    # "Retention and housekeeping", then "Each release": revoking a key.
    _run(env, py, manage, "clearsessions")
    _run(env, py, manage, "revoke_api_key", "deploy-test")
    after_revocation = [
        requests.post(
            f"http://127.0.0.1:{port}/api/v1/lineage",
            data=b"{}",  # refused before the body is read
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            timeout=30,
        ).status_code
        for port in ports
    ]
    codes = processes.stop_all()

    # HSTS for subdomains and preloading are the operator's choice (docs/deploy.md); nothing else is left.
    assert set(re.findall(r"\((security\.\w+)\)", deploy_check)) <= {"security.W005", "security.W021"}
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EVENT).count() == 200
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert f"Ledger OK: {LedgerEntry.objects.count()} entries" in verified
    assert pings.count("pong") == 2
    assert "tracemark_outbox_pending 0.0" in metrics
    assert 'tracemark_intake_events_total{status="accepted"}' in metrics
    assert "strict-transport-security: max-age=31536000" in behind_tls.lower()
    assert after_revocation == [401, 401]
    assert codes == [0] * len(codes)
