"""Backup and restore with pg_dump/pg_restore, exactly as docs/deploy.md tells operators to."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from lineage.ledger import ledger_verify
from lineage.services import events_ingest, governance_record
from tests.factories import run_event

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path:
    found = os.environ.get("TRACEMARK_TEST_PG_BIN") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]), ""
    )
    if not found or not (Path(found) / "pg_dump").exists():
        pytest.skip("pg_dump not found: set TRACEMARK_TEST_PG_BIN (make test does)")
    return Path(found)


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def test_a_restored_dump_verifies_and_keeps_the_ledger_append_only(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    outcome = events_ingest(events=[run_event(job=f"job-{i}") for i in range(50)])
    governance_record(action="classification.change", subject="dataset:1", actor="user:alice", details={"to": "PII"})
    source = subprocess_env["DATABASE_URL"]
    restored = _with_db(source, "tracemark_restore_test")
    dump = tmp_path / "tracemark.dump"
    pg = _pg_bin()
    server = _with_db(source, "postgres")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier("tracemark_restore_test"))
        )
    try:
        # The commands of docs/deploy.md, "Backup and restore".
        subprocess.run([pg / "pg_dump", "-Fc", "--no-owner", "-d", source, "-f", dump], check=True)
        subprocess.run([pg / "createdb", f"--maintenance-db={server}", "tracemark_restore_test"], check=True)
        subprocess.run([pg / "pg_restore", "--no-owner", "--exit-on-error", "-d", restored, dump], check=True)
        verified = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env={**subprocess_env, "DATABASE_URL": restored},
            capture_output=True,
            text=True,
            check=False,
        )
        with (
            psycopg.connect(restored, autocommit=True) as db,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
        ):
            db.execute("UPDATE lineage_ledgerentry SET payload = '{}' WHERE seq = 1")
    finally:
        with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier("tracemark_restore_test"))
            )

    assert outcome.count("accepted") == 50
    assert verified.returncode == 0, verified.stderr
    assert f"Ledger OK: 51 entries, head #51 {ledger_verify().head_hash}" in verified.stdout
