from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lineage.models import ApiKey
from lineage.services import api_key_issue


class Command(BaseCommand):
    help = "Issue a producer API key. The key is printed once and stored only as a hash."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Producer name, e.g. airflow-prod.")
        parser.add_argument(
            "--namespace",
            action="append",
            default=[],
            dest="namespaces",
            help="Namespace pattern the key may write to (fnmatch, repeatable). Default: any.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print only the key.")

    def handle(self, *args: Any, name: str, namespaces: list[str], quiet: bool, **options: Any) -> None:
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"A key named {name!r} already exists; revoke it or choose another name.")
        issued = api_key_issue(name=name, namespaces=namespaces)
        if quiet:
            self.stdout.write(issued.secret)
            return
        self.stdout.write(f"API key for {name!r} (shown once, store it now):")
        self.stdout.write(issued.secret)
        scope = ", ".join(namespaces) if namespaces else "any namespace"
        self.stdout.write(f"Scope: {scope}. Use it as: Authorization: Bearer <key>")
