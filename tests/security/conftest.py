"""Helpers for the attack tests: what is stored, and what a clean rejection looks like."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings

# Rows an intake request may legitimately touch without storing anything: the key's last-used time.
_NOT_STORAGE = {"lineage.apikey"}
_STORAGE_APPS = ("lineage", "catalog", "reports")

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def stored_counts() -> dict[str, int]:
    """Row count of every table the intake or its follow-ups write: ledger, graph, outbox, catalog."""
    counts: dict[str, int] = {}
    for label in _STORAGE_APPS:
        if not apps.is_installed(label):
            continue
        for model in apps.get_app_config(label).get_models():
            if model._meta.label_lower not in _NOT_STORAGE:
                counts[model._meta.label_lower] = model.objects.count()
    return counts


def assert_clean_rejection(response: Any) -> dict[str, Any]:
    """A 4xx whose body is the one error vocabulary: {"message": str, "errors": [...]}."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("message"), str)
    assert body["message"]
    assert isinstance(body.get("errors"), list)
    return body


@pytest.fixture
def snapshot(db: None) -> dict[str, int]:
    return stored_counts()
