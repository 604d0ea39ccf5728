from __future__ import annotations

from django.urls import path

from catalog.ui import views

app_name = "ui"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("search", views.search_view, name="search"),
    path("datasets/<int:pk>/", views.dataset_view, name="dataset"),
    path("jobs/<int:pk>/", views.job_view, name="job"),
    path("runs/<str:run_id>/", views.run_view, name="run"),
    path("systems/<slug:slug>/", views.system_view, name="system"),
    path("lineage", views.lineage_view, name="lineage"),
    path("lineage.json", views.lineage_data_view, name="lineage-data"),
    path("findings", views.findings_view, name="findings"),
    path("findings/<int:pk>/", views.finding_view, name="finding"),
    path("findings/<int:pk>/waive", views.finding_waive_view, name="finding-waive"),
    path("findings/<int:pk>/recheck", views.finding_recheck_view, name="finding-recheck"),
]
