from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from reports.evidence import evidence_build
from reports.rendering import Issuance, report_render
from tests.reports.scenario import build_scenario, fixed_clock

ISSUANCE = Issuance(report_id="TMR-REPRO", issued_by="ana.compliance", issued_at=datetime(2026, 3, 11, 8, tzinfo=UTC))


@pytest.mark.slow
# Sequences restart at 1, as in the fresh database: ids appear in some ledger payloads.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("kind", ["annex-iv", "data-governance", "gpai-summary"])
def test_replaying_the_same_history_into_a_fresh_sqlite_database_gives_the_same_report(
    tmp_path: Path, kind: str
) -> None:
    """On PostgreSQL this compares PostgreSQL with SQLite; on SQLite, two SQLite databases."""
    with fixed_clock():
        scenario = build_scenario()
    here = evidence_build(system="credit-scoring", kind=kind, as_of_seq=scenario.seq)
    pdf_here = report_render(evidence_bytes=here.canonical, issuance=ISSUANCE)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TRACEMARK_VAR_DIR"] = str(tmp_path / "var")

    result = subprocess.run(
        [sys.executable, "-m", "tests.reports.replay_build", kind, str(scenario.seq), str(tmp_path / "r.pdf")],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == here.content_hash
    assert (tmp_path / "r.pdf").read_bytes() == pdf_here
