from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.roles import roles_sync


class Command(BaseCommand):
    help = "Create the steward, viewer and auditor groups and set their permissions (runs after migrate too)."

    def handle(self, *args: Any, **options: Any) -> None:
        for role, count in roles_sync().items():
            self.stdout.write(f"{role:<10} {count} permissions")
