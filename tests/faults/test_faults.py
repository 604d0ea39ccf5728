"""The --quick variant of bench/faults.py: 1,000 events while each server is killed or restarted once.

The full run (20,000 events, every fault twice) is run by hand; its figures are in docs/deploy.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_nothing_acknowledged_is_lost_while_web_workers_broker_and_database_fail() -> None:
    if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
        pytest.skip("redis-server not installed")

    out = subprocess.run(
        [sys.executable, "bench/faults.py", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )

    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert figures["acknowledged"] == figures["events_sent"] == 1000
    assert figures["acknowledged_missing"] == 0
    assert figures["stored_twice"] == 0
    assert figures["ledger_ok"]
    assert figures["outbox_pending"] == 0
    assert figures["findings_match_reevaluation"]
    assert len(figures["faults"]) == 4
