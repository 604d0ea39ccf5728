from __future__ import annotations

from django.urls import path

from reports import portal

app_name = "portal"

urlpatterns = [
    path("", portal.portal_home_view, name="home"),
    path("login/", portal.PortalLoginView.as_view(), name="login"),
    path("logout/", portal.portal_logout_view, name="logout"),
    path("verify/", portal.portal_verify_view, name="verify"),
    path("systems/<slug:slug>/", portal.portal_system_view, name="system"),
    path("reports/<str:report_id>/download", portal.portal_download_view, name="download"),
]
