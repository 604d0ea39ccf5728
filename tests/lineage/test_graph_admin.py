"""Staff can look at the graph facts in the admin; nobody edits them there."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lineage.models import ColumnLineageEdge, Dataset, DatasetSymlink, Job, Tag
from lineage.services import events_ingest
from tests.factories import PRODUCER, dataset, run_event

pytestmark = pytest.mark.django_db


def facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://x/Facet.json", **body}


@pytest.fixture
def admin_client_with_graph() -> Client:
    columns = facet(fields={"b": {"inputFields": [{"namespace": "s3://bucket", "name": "src", "field": "a"}]}})
    link = facet(identifiers=[{"namespace": "hive://m", "name": "db.t", "type": "TABLE"}])
    events_ingest(
        events=[
            run_event(
                inputs=[dataset(name="src", schema=facet(fields=[{"name": "a", "type": "INT"}]))],
                outputs=[
                    dataset(name="dst", columnLineage=columns, tags=facet(tags=[{"key": "pii", "value": "true"}])),
                    dataset(name="path/t", symlinks=link),
                ],
            )
        ]
    )
    user = get_user_model().objects.create_superuser("admin", password="x")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", [Dataset, Job, ColumnLineageEdge, DatasetSymlink, Tag])
def test_graph_admin_pages_open(admin_client_with_graph: Client, model: Any) -> None:
    base = f"/admin/lineage/{model._meta.model_name}/"
    obj = model.objects.first()

    listing = admin_client_with_graph.get(base)
    detail = admin_client_with_graph.get(f"{base}{obj.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200


def test_graph_facts_cannot_be_added_in_the_admin(admin_client_with_graph: Client) -> None:
    response = admin_client_with_graph.get("/admin/lineage/columnlineageedge/add/")

    assert response.status_code == 403
