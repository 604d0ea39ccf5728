"""Logs: structured JSON with the request id, and never a secret (API key, password, session)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.logging import JsonFormatter, RequestIdFilter
from lineage.services import IssuedKey
from tests.factories import run_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, through the project's JSON formatter (as in production)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", "django.db.backends", "axes", "django.request")}
    root.addHandler(handler)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_an_api_key_never_appears_in_the_logs(log_output: io.StringIO, producer_key: IssuedKey, monkeypatch) -> None:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}")
    with CaptureQueriesContext(connection):  # SQL is logged at DEBUG too
        client.post("/api/v1/lineage", orjson.dumps(run_event()), content_type="application/json")
        client.post("/api/v1/lineage", b"{broken", content_type="application/json")
        monkeypatch.setattr("lineage.api.events_ingest", lambda **_: 1 / 0)
        crashed = client.post("/api/v1/lineage", orjson.dumps(run_event()), content_type="application/json")
        wrong = APIClient(raise_request_exception=False)
        wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}x")
        wrong.post("/api/v1/lineage", orjson.dumps(run_event()), content_type="application/json")

    logged = log_output.getvalue()
    assert crashed.status_code == 500
    assert "ZeroDivisionError" in logged  # the crash was logged, with its traceback
    assert producer_key.secret not in logged
    assert producer_key.secret[len("tm_") :] not in logged


def test_a_key_put_in_the_query_string_is_not_logged(log_output: io.StringIO, producer_key: IssuedKey) -> None:
    client = APIClient(raise_request_exception=False)

    client.post("/api/v1/lineage?api_key=" + producer_key.secret, b"{}", content_type="application/json")

    assert producer_key.secret not in log_output.getvalue()


def test_a_password_never_appears_in_the_logs(log_output: io.StringIO, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": "mallory", "password": "hunter2-secret-guess"})

    logged = log_output.getvalue()
    assert "Locking out" in logged  # the lockout was logged (axes masks the username)
    assert "hunter2-secret-guess" not in logged


def test_a_session_cookie_never_appears_in_the_logs(log_output: io.StringIO, django_user_model) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(django_user_model.objects.create_user("carol", is_staff=True))
    session = client.cookies["sessionid"].value

    client.get("/api/v1/namespaces?limit=-1")
    client.get("/no/such/page")

    assert session not in log_output.getvalue()


def test_log_lines_are_json_carrying_the_request_id(log_output: io.StringIO) -> None:
    Client().get("/no/such/page", headers={"X-Request-ID": "req-42"})

    lines = [orjson.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found
    assert not_found[0]["request_id"] == "req-42"
    assert not_found[0]["level"] == "WARNING"
    assert {"ts", "msg"} <= set(not_found[0])


def test_a_forged_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "a\nb{injected}" + "x" * 100})

    assert response["X-Request-ID"].isalnum()
    assert len(response["X-Request-ID"]) == 32
