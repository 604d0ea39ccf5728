"""System checks that refuse the embedded defaults in production (DEBUG off)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register(deploy=False)
def production_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    if settings.SECRET_KEY == settings.INSECURE_SECRET_KEY or len(settings.SECRET_KEY) < 32:
        errors.append(
            Error(
                "SECRET_KEY is the development default or too short while DEBUG is off.",
                hint="Set SECRET_KEY to a random string of at least 50 characters.",
                id="tracemark.E001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not getattr(
        settings, "TRACEMARK_ALLOW_EMBEDDED", False
    ):
        errors.append(
            Error(
                "SQLite is the embedded default and is not supported in production (DEBUG off).",
                hint="Set DATABASE_URL=postgres://user:pass@host:5432/tracemark.",
                id="tracemark.E002",
            )
        )
    if settings.CELERY_BROKER_URL.startswith(("filesystem", "memory")) and not getattr(
        settings, "TRACEMARK_ALLOW_EMBEDDED", False
    ):
        errors.append(
            Error(
                "The in-process/filesystem Celery broker is the embedded default, not for production.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/0.",
                id="tracemark.E003",
            )
        )
    return errors
