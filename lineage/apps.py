from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _generic_plans_for_prepared_statements(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Prepared statements (only the fold's, see ``DB_PREPARE_THRESHOLD``) keep one generic plan.

    Left to itself PostgreSQL plans a prepared statement again on each run while it compares
    plans; for the fold's small reads by key, planning took longer than running them.
    """
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("prepare_threshold"):
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage and ledger"

    def ready(self) -> None:
        from lineage import openapi  # noqa: F401  # registers the OpenAPI authentication schemes
        from lineage.validation import _fast_validator

        _fast_validator()  # compile the schema once per process, not on the first request
        connection_created.connect(_generic_plans_for_prepared_statements, dispatch_uid="tracemark-generic-plans")
