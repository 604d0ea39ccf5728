from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from catalog.ui.views import home_view
from config import health

# The admin is Tracemark's CRUD back office; "View site" leads to the staff pages.
admin.site.site_header = "Tracemark administration"
admin.site.site_title = "Tracemark admin"
admin.site.index_title = "Catalog, governance and ledger records"
admin.site.site_url = "/ui/"

urlpatterns = [
    path("", home_view, name="home"),
    path("favicon.ico", RedirectView.as_view(url=static("tracemark/favicon.svg"), permanent=True), name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("portal/", include("reports.portal_urls")),
    path("ui/", include("catalog.ui.urls")),
    path("", include("lineage.urls")),
    path("", include("catalog.urls")),
]
