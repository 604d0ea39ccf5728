from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.demo import demo_events
from lineage.services import events_ingest


class Command(BaseCommand):
    help = "Load the demo AI-factory scenario through the real intake path (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = events_ingest(events=demo_events())
        self.stdout.write(
            f"Demo scenario: {outcome.count('accepted')} events accepted, "
            f"{outcome.count('duplicate')} already present."
        )
        invalid = [r for r in outcome.results if r.status not in ("accepted", "duplicate")]
        if invalid:
            raise RuntimeError(f"demo events rejected: {invalid[:3]}")
