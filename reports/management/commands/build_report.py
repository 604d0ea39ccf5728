"""``build_report --system SLUG --kind KIND [--as-of ISO8601 | --as-of-seq N] --out FILE.pdf``.

Without ``--system`` it lists the registered systems. The report is issued (stored, its file hash
written to the ledger) and then written to ``--out``; asking again for the same system, kind and
sequence writes the report already issued.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import ApplicationError
from reports import selectors
from reports.evidence import KINDS
from reports.services import report_as_of_seq, report_download_record, report_issue


class Command(BaseCommand):
    help = "Build (issue) a compliance report PDF for an AI system, or list the systems."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--system", help="slug of the AI system; omit to list the systems")
        parser.add_argument("--kind", choices=KINDS, help="report kind")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--as-of", help="ISO 8601 time with a timezone: the ledger as it stood then")
        when.add_argument("--as-of-seq", type=int, help="ledger sequence to build the report as of")
        parser.add_argument("--out", help="where to write the PDF")
        parser.add_argument("--issued-by", default="", help="who issues it (default: cli:<OS user>)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["system"]:
            self._list()
            return
        if not options["kind"] or not options["out"]:
            raise CommandError("--kind and --out are required with --system")
        as_of = None
        if options["as_of"]:
            try:
                as_of = datetime.fromisoformat(options["as_of"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"--as-of {options['as_of']!r} is not an ISO 8601 time") from None
        issued_by = options["issued_by"] or f"cli:{getpass.getuser()}"
        try:
            seq = report_as_of_seq(as_of_seq=options["as_of_seq"], as_of=as_of)
            report = report_issue(
                system_slug=options["system"],
                kind=options["kind"],
                as_of_seq=seq,
                requested_by=issued_by,
                progress=lambda pct, msg: self.stderr.write(f"  {pct:3d}%  {msg}"),
            )
            report_download_record(report=report, actor=issued_by, channel="cli")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        out = Path(options["out"])
        out.write_bytes(bytes(report.pdf))
        self.stdout.write(
            f"{report.report_id}  {report.kind}  {report.system.slug}  as of ledger #{report.as_of_seq}\n"
            f"  content hash  sha256:{report.content_hash}\n"
            f"  file          {out} ({report.file_size:,} bytes, sha256:{report.file_sha256})"
            f"{', signed' if report.signed else ''}\n"
            f"  completeness  {report.completeness}%, {report.gap_count} gap(s)\n"
            f"  issued by {report.issued_by} at {report.issued_at:%Y-%m-%d %H:%M:%S} UTC, ledger #{report.issuance_seq}"
        )

    def _list(self) -> None:
        systems = selectors.system_list()
        if not systems:
            self.stdout.write("No AI systems are registered yet.")
            return
        self.stdout.write(f"{'SLUG':<32} {'RISK TIER':<18} {'STATUS':<12} NAME")
        for s in systems:
            self.stdout.write(f"{s.slug:<32} {s.risk_tier:<18} {s.status:<12} {s.name}")
        self.stdout.write(
            f"\nbuild one with: manage.py build_report --system SLUG --kind {{{','.join(KINDS)}}} --out FILE.pdf"
        )
