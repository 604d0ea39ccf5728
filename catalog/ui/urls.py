from __future__ import annotations

from django.urls import path  # noqa: F401 - filled in by the staff UI

app_name = "ui"

urlpatterns: list = []
