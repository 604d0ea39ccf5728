"""URLconf for the report view tests until ``reports.urls`` is included in ``config.urls``."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
]
