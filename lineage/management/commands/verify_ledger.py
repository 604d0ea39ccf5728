from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lineage.ledger import ledger_verify


class Command(BaseCommand):
    help = "Recompute the ledger's hash chain; name the first entry altered, removed or reordered."

    def handle(self, *args: Any, **options: Any) -> None:
        result = ledger_verify()
        if not result.ok:
            assert result.problem is not None
            raise CommandError(
                f"LEDGER BROKEN at entry #{result.problem.seq}: {result.problem.message}. "
                f"{result.count} entries verified before it."
            )
        self.stdout.write(f"Ledger OK: {result.count} entries, head #{result.head_seq} {result.head_hash}")
