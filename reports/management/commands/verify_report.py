"""``verify_report FILE.pdf``: check a report against itself, the ledger and the issuance register.

Prints one line per check and a verdict; exits 1 when any check fails, 2 when the file is unreadable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.verification import report_verify


class Command(BaseCommand):
    help = "Verify a Tracemark report PDF: evidence hash, metadata, page text, ledger, issuance, signature."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the report PDF")
        parser.add_argument("--no-rebuild", action="store_true", help="skip rebuilding the evidence from the database")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}", returncode=2) from exc
        verdict = report_verify(pdf=data, rebuild=not options["no_rebuild"])
        self.stdout.write(
            f"{path}: report {verdict.report_id or '?'}"
            + (f", as of ledger #{verdict.as_of_seq}" if verdict.as_of_seq is not None else "")
        )
        for check in verdict.checks:
            mark = "ok  " if check.ok else "FAIL"
            self.stdout.write(f"  {mark}  {check.name:<21} {check.detail}")
        if verdict.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"VERIFIED: the report is genuine and matches the ledger "
                    f"(content hash sha256:{verdict.content_hash})."
                )
            )
            return
        names = ", ".join(c.name for c in verdict.failures)
        raise CommandError(f"NOT VERIFIED: {names} do(es) not match.", returncode=1)
