from __future__ import annotations

from django.urls import path  # noqa: F401 - filled in by the auditor portal

app_name = "portal"

urlpatterns: list = []
