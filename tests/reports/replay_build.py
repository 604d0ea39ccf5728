"""Build the test scenario in a fresh database of this process's own and print a report's hashes.

Run as ``python -m tests.reports.replay_build KIND SEQ OUT.pdf`` with the database chosen by the
environment (``DATABASE_URL`` unset: a new SQLite file under ``TRACEMARK_VAR_DIR``). The test of
reproducibility compares what it prints with what the test database gives.
"""

from __future__ import annotations

import os
import sys


def main(kind: str, seq: int, out: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from reports.evidence import evidence_build
    from reports.rendering import report_render
    from tests.reports.scenario import build_scenario, fixed_clock
    from tests.reports.test_reproducibility import ISSUANCE

    call_command("migrate", verbosity=0)
    with fixed_clock():
        build_scenario()
    document = evidence_build(system="credit-scoring", kind=kind, as_of_seq=seq)
    with open(out, "wb") as f:
        f.write(report_render(evidence_bytes=document.canonical, issuance=ISSUANCE))
    sys.stdout.write(document.content_hash + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
