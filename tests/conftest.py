"""Shared pytest fixtures.

Sections: external services (PostgreSQL, Redis) first; actor and data fixtures below.
`make test` starts throwaway servers and exports TRACEMARK_TEST_* variables (see .ci/test.sh).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from lineage.services import IssuedKey, api_key_issue
from tests.servers import GunicornServer, free_port, wait_for_http

# --- External services -------------------------------------------------------------------------
# Markers (registered in pyproject.toml):
#   @pytest.mark.postgres  needs the default database to be PostgreSQL; skipped on SQLite
#   @pytest.mark.redis     needs a Redis server: use the `redis_url` fixture
# Also exported by `make test`: TRACEMARK_TEST_PG_BIN (dir with pg_dump/pg_restore/psql) and
# TRACEMARK_TEST_REDIS_SERVER (path of redis-server), for tests that start/stop their own.

REDIS_URL_ENV = "TRACEMARK_TEST_REDIS_URL"


def _default_db_is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = _default_db_is_postgres()
    has_redis = bool(os.environ.get(REDIS_URL_ENV))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL; run make test")
    skip_redis = pytest.mark.skip(reason=f"Redis not available: {REDIS_URL_ENV} unset (make test starts one)")
    for item in items:
        if not on_postgres and item.get_closest_marker("postgres"):
            item.add_marker(skip_pg)
        if not has_redis and item.get_closest_marker("redis"):
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a disposable Redis server (flush it freely); skips the test when there is none."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(f"Redis not available: {REDIS_URL_ENV} unset (make test starts one)")
    return url


# --- Actors and data ----------------------------------------------------------------------------


@pytest.fixture
def producer_key(db: None) -> IssuedKey:
    return api_key_issue(name="pipeline")


@pytest.fixture
def producer(producer_key: IssuedKey) -> APIClient:
    """An API client authenticated as a producer, the way the OpenLineage client sends its key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}")
    return client


@pytest.fixture(autouse=True)
def _ledger_append_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the ledger's triggers on during every database test, yet let transactional tests flush.

    TransactionTestCase empties every table after each test, which the triggers refuse: they are
    lifted for that final flush only (this fixture's teardown runs before the database fixture's)
    and put back at the start of the next database test.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"}
    )
    if not (marker or names & {"db", "transactional_db", "live_server"}):
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    _set_ledger_triggers(enabled=True)
    yield
    if transactional:
        _set_ledger_triggers(enabled=False)


def _set_ledger_triggers(*, enabled: bool) -> None:
    from django.db import connection

    triggers = import_module("lineage.migrations.0002_ledger_append_only")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE lineage_ledgerentry {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")
            return
        for sql in triggers.SQLITE_BACKWARD + (triggers.SQLITE_FORWARD if enabled else []):
            cursor.execute(sql)


# --- Real servers ------------------------------------------------------------------------------


def _database_url_of_test_db() -> str:
    from django.db import connection

    s = connection.settings_dict
    user = s.get("USER") or ""
    auth = f"{user}:{s.get('PASSWORD')}@" if s.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture
def subprocess_env(transactional_db: None, tmp_path: Path) -> dict[str, str]:
    """Environment for a child process (gunicorn, a worker, a script) that uses the test database.

    Only PostgreSQL can be shared with other processes: the SQLite test database lives in memory.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the SQLite test database is in memory, other processes cannot see it")
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url_of_test_db(),
        TRACEMARK_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def gunicorn_server(subprocess_env: dict[str, str]) -> Iterator[GunicornServer]:
    """Tracemark under gunicorn with three worker processes, on the test database."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--graceful-timeout",
            "10",
            "--log-level",
            "warning",
        ],
        cwd=root,
        env=subprocess_env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", proc)
        yield GunicornServer(url=url, process=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
