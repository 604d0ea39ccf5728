from __future__ import annotations

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list_view, name="list"),
    path("verify/", views.report_verify_view, name="verify"),
    path("<str:report_id>/", views.report_detail_view, name="detail"),
    path("<str:report_id>/progress", views.report_progress_view, name="progress"),
    path("<str:report_id>/download", views.report_download_view, name="download"),
]
