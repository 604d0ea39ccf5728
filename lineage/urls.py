from __future__ import annotations

from django.urls import re_path

from lineage import api

# Trailing slash optional and never redirected: the OpenLineage client turns a 301 into a
# bodiless GET and reports success, so a redirect would silently lose the event.
urlpatterns = [
    re_path(r"^api/v1/lineage/batch/?$", api.LineageBatchApi.as_view(), name="lineage-batch"),
    re_path(r"^api/v1/lineage/?$", api.LineageIntakeApi.as_view(), name="lineage"),
]
