from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Governance catalog"

    def ready(self) -> None:
        from catalog.roles import roles_sync

        # After every migrate (and test-database flush): role groups exist and know new models.
        post_migrate.connect(roles_sync, dispatch_uid="catalog.roles_sync")
