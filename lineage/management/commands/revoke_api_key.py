from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lineage.models import ApiKey
from lineage.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke a producer API key by name; requests with it get 401 from then on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        try:
            key = api_key_revoke(name=name)
        except ApiKey.DoesNotExist:
            raise CommandError(f"No API key named {name!r}.") from None
        self.stdout.write(f"Revoked {key.name} at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
