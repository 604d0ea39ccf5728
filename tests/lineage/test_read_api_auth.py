"""Who may read the lineage API, and with which credentials."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from lineage.services import IssuedKey

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def staff_user():
    return get_user_model().objects.create_user("dana", password="a long staff password", is_staff=True)


def test_staff_read_the_api_with_their_login_over_basic_auth(staff_user) -> None:
    client = APIClient()

    response = client.get("/api/v1/namespaces", HTTP_AUTHORIZATION=_basic("dana", "a long staff password"))

    assert response.status_code == 200
    assert "namespaces" in response.json()


def test_the_lineage_graph_reads_with_basic_auth_too(staff_user) -> None:
    response = APIClient().get(
        "/api/v1/lineage",
        {"nodeId": "dataset:s3://nowhere:none", "depth": 2},
        HTTP_AUTHORIZATION=_basic("dana", "a long staff password"),
    )

    assert response.status_code == 404  # signed in, asked about a node that does not exist


def test_a_wrong_password_is_refused(staff_user) -> None:
    response = APIClient().get("/api/v1/namespaces", HTTP_AUTHORIZATION=_basic("dana", "wrong"))

    assert response.status_code == 403
    assert "password" in response.json()["message"]


def test_a_user_who_is_not_staff_cannot_read_with_basic_auth() -> None:
    get_user_model().objects.create_user("eve", password="another long password")

    response = APIClient().get("/api/v1/namespaces", HTTP_AUTHORIZATION=_basic("eve", "another long password"))

    assert response.status_code == 403


def test_a_producer_key_cannot_read(producer_key: IssuedKey) -> None:
    response = APIClient().get("/api/v1/namespaces", HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}")

    assert response.status_code == 403


def test_without_credentials_reading_is_refused() -> None:
    response = APIClient().get("/api/v1/namespaces")

    assert response.status_code == 403


def test_basic_credentials_holding_a_nul_character_are_refused_not_a_server_error(staff_user) -> None:
    response = APIClient().get("/api/v1/namespaces", HTTP_AUTHORIZATION=_basic("da\x00na", "x"))

    assert response.status_code == 403
