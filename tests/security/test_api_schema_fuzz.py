"""Schemathesis against the OpenAPI schema (/api/schema/), through the WSGI app: no 5xx, schema kept.

The checks are those about the *responses*: never a server error, every status code, content type,
header and body as the schema documents them. The checks about how strictly the schema describes
the *requests* (positive_data_acceptance, negative_data_rejection, unsupported_method) found gaps in
the schema annotations that are reported to their owners, not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lineage.services import IssuedKey, events_ingest
from tests.factories import dataset, run_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Serve the WSGI app inside the test's transaction, as Django's test client does.

    A bare WSGI handler closes "old" connections at each request's start and end; inside the test's
    transaction (autocommit off) Django counts its connection as old and closes it, so every later
    query would fail (on PostgreSQL: 503, database unavailable). The test client disconnects the same
    receivers for the same reason.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db: None) -> None:
    """A little graph, so that generated names sometimes hit something that exists."""
    events_ingest(events=[run_event(inputs=[dataset(name=f"raw/{i}")], job=f"job{i}") for i in range(3)])


@pytest.fixture
def staff_cookies(db: None) -> dict[str, str]:
    user = get_user_model().objects.create_user("viewer", is_staff=True)
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


# Loaded at collection (Django is set up by then); schemathesis' from_fixture does not support pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_api_as_a_producer(case, seeded: None, producer_key: IssuedKey) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {producer_key.secret}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_as_staff(case, seeded: None, staff_cookies: dict[str, str]) -> None:
    case.call_and_validate(cookies=staff_cookies, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_anonymous(case, seeded: None) -> None:
    case.call_and_validate(checks=CHECKS)
