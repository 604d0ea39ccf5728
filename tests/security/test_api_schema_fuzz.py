"""Schemathesis against the OpenAPI schema (/api/schema/), through the WSGI app: no 5xx, schema kept.

Every check is about the schema being true to the code, both ways: never a server error; status
codes, content types, headers and bodies as documented; a request the schema allows is not refused
as invalid (400/422), one it forbids is refused with a 4xx (wrong types, out-of-range numbers, blank
required values, missing credentials); an undocumented method gets 405; and credentials are really
checked (``ignored_auth`` repeats a successful call without them and with wrong ones).

The intake's request body is an OpenLineage event, whose rules are the OpenLineage spec's JSON
Schema (``lineage/schemas/openlineage.json``), not restated in OpenAPI: there the schema only says
"a JSON object", so "schema-valid is accepted" is not asserted for the two intake operations;
``test_intake_attacks.py`` generates events against the real rules instead.

Credentials go into the generated case (replacing the placeholder schemathesis generated for the
documented scheme), never around it: a case generated *without* credentials, to check that they are
required, must be sent without them.
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
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Every generated Basic-auth attempt hashes a password; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    negative_data_rejection,
    unsupported_method,
    ignored_auth,
]
INTAKE = {"/api/v1/lineage/", "/api/v1/lineage/batch/"}
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def checks_for(case) -> list:
    if case.method == "POST" and case.operation.path in INTAKE:
        return CHECKS
    if {"asOf", "asOfSeq"} <= set(case.query or {}):
        # Mutually exclusive (400, documented on both); OpenAPI 3.0 cannot say so of parameters.
        return CHECKS
    return [*CHECKS, positive_data_acceptance]


@schema.parametrize()
@FUZZ
def test_api_as_a_producer(case, seeded: None, producer_key: IssuedKey) -> None:
    if (case.headers or {}).get("Authorization", "").startswith("Bearer"):
        case.headers["Authorization"] = f"Bearer {producer_key.secret}"

    case.call_and_validate(checks=checks_for(case))


@schema.parametrize()
@FUZZ
def test_api_as_staff(case, seeded: None, staff_cookies: dict[str, str]) -> None:
    if "sessionid" in (case.cookies or {}):
        case.cookies["sessionid"] = staff_cookies["sessionid"]
        # Signed in by the session: a generated Basic header beside it would be ignored, as it should.
        (case.headers or {}).pop("Authorization", None)

    case.call_and_validate(checks=checks_for(case))


@schema.parametrize()
@FUZZ
def test_api_anonymous(case, seeded: None) -> None:
    case.call_and_validate(checks=checks_for(case))
