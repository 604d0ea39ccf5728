from __future__ import annotations

from django.urls import path

from catalog import views

urlpatterns = [
    path("schemas/tracemark/<str:name>/<str:version>.json", views.facet_schema, name="facet-schema"),
]
