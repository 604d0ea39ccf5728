from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.evaluation import catalog_evaluate_all
from catalog.models import Finding, FindingStatus


class Command(BaseCommand):
    help = "Re-check every policy now (in this process), or enqueue the sweep on Celery with --enqueue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--system", action="append", dest="systems", metavar="SLUG", help="Only this system.")
        parser.add_argument("--enqueue", action="store_true", help="Hand the sweep to the Celery workers.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from catalog.tasks import sweep

            sweep.apply_async()
            self.stdout.write("Sweep enqueued.")
            return
        summary = catalog_evaluate_all(system_slugs=options["systems"])
        opened = sum(1 for t in summary.transitions if t.to_status == FindingStatus.OPEN)
        resolved = sum(1 for t in summary.transitions if t.to_status == FindingStatus.RESOLVED)
        self.stdout.write(
            f"Evaluated {summary.policies} policy checks on {summary.subjects} subjects: "
            f"{opened} findings opened, {resolved} resolved, "
            f"{Finding.objects.filter(status=FindingStatus.OPEN).count()} open in total."
        )
