from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.exceptions import CatalogInvalid
from catalog.roles import ROLES, user_create


class Command(BaseCommand):
    help = (
        "Create a person with a role (administrator, steward, viewer, auditor). The password comes from "
        "TRACEMARK_NEW_USER_PASSWORD when set, else one is generated and printed once. Grant an auditor "
        "their systems in the admin (Auditor grants)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        given = os.environ.get("TRACEMARK_NEW_USER_PASSWORD") or None
        try:
            created = user_create(
                username=options["username"], role=options["role"], email=options["email"], password=given
            )
        except CatalogInvalid as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created {created.role} {created.username}")
        if given is None:
            self.stdout.write(f"password (shown once): {created.password}")
