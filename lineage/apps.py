from __future__ import annotations

from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage and ledger"

    def ready(self) -> None:
        from lineage import openapi  # noqa: F401  # registers the OpenAPI authentication schemes
        from lineage.validation import _fast_validator

        _fast_validator()  # compile the schema once per process, not on the first request
