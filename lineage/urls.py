from __future__ import annotations

from django.urls import re_path

from lineage import api, read_api
from lineage.validation import UUID_PATTERN as UUID  # ids in paths: anything else is a 404, never a 400 or 500

# Trailing slash optional and never redirected: the OpenLineage client turns a 301 into a
# bodiless GET and reports success, so a redirect would silently lose the event.
NS = r"^api/v1/namespaces/(?P<namespace>.+?)"

urlpatterns = [
    re_path(r"^api/v1/lineage/batch/?$", api.LineageBatchApi.as_view(), name="lineage-batch"),
    # POST: intake (producer API key); GET: the lineage graph (staff).
    re_path(r"^api/v1/lineage/?$", read_api.LineageApi.as_view(), name="lineage"),
    re_path(r"^api/v1/column-lineage/?$", read_api.ColumnLineageApi.as_view(), name="column-lineage"),
    re_path(r"^api/v1/namespaces/?$", read_api.NamespaceListApi.as_view(), name="namespaces"),
    # Everything under a namespace is resolved against what exists (names contain "/"), so these
    # patterns only give each endpoint its name and its place in the OpenAPI schema.
    re_path(
        NS + rf"/datasets/(?P<dataset>.+)/versions/(?P<version>{UUID})/?$",
        read_api.DatasetVersionApi.as_view(),
        name="dataset-version",
    ),
    re_path(
        NS + r"/datasets/(?P<dataset>.+)/versions/?$", read_api.DatasetVersionListApi.as_view(), name="dataset-versions"
    ),
    re_path(NS + r"/datasets/?$", read_api.DatasetListApi.as_view(), name="datasets"),
    re_path(NS + r"/datasets/(?P<dataset>.+)$", read_api.DatasetApi.as_view(), name="dataset"),
    re_path(
        NS + rf"/jobs/(?P<job>.+)/versions/(?P<version>{UUID})/?$", read_api.JobVersionApi.as_view(), name="job-version"
    ),
    re_path(NS + r"/jobs/(?P<job>.+)/versions/?$", read_api.JobVersionListApi.as_view(), name="job-versions"),
    re_path(NS + r"/jobs/(?P<job>.+)/runs/?$", read_api.JobRunListApi.as_view(), name="job-runs"),
    re_path(NS + r"/jobs/?$", read_api.JobListApi.as_view(), name="jobs"),
    re_path(NS + r"/jobs/(?P<job>.+)$", read_api.JobApi.as_view(), name="job"),
    re_path(NS + r"/?$", read_api.NamespaceApi.as_view(), name="namespace"),
    re_path(rf"^api/v1/jobs/runs/(?P<run_id>{UUID})/?$", read_api.RunApi.as_view(), name="run"),
    re_path(rf"^api/v1/jobs/runs/(?P<run_id>{UUID})/facets/?$", read_api.RunFacetsApi.as_view(), name="run-facets"),
    re_path(r"^api/v1/search/?$", read_api.SearchApi.as_view(), name="search"),
    re_path(r"^api/v1/tags/?$", read_api.TagListApi.as_view(), name="tags"),
    re_path(r"^api/v1/events/lineage/?$", read_api.LineageEventListApi.as_view(), name="lineage-events"),
    re_path(r"^api/v1/graph/lineage/?$", read_api.GraphLineageApi.as_view(), name="graph-lineage"),
    re_path(r"^api/v1/graph/paths/?$", read_api.GraphPathApi.as_view(), name="graph-paths"),
    re_path(r"^api/v1/graph/impact/?$", read_api.GraphImpactApi.as_view(), name="graph-impact"),
    re_path(r"^api/v1/graph/column-lineage/?$", read_api.GraphColumnLineageApi.as_view(), name="graph-column-lineage"),
    re_path(r"^api/v1/graph/as-of/?$", read_api.GraphAsOfApi.as_view(), name="graph-as-of"),
]
