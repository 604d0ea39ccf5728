"""Fixtures of the web tests: the demo AI factory and people in each role."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from catalog.roles import STEWARD, VIEWER, user_create


@pytest.fixture
def demo(db: None) -> None:
    call_command("seed_demo")


def signed_in(role: str) -> Client:
    from django.contrib.auth import get_user_model

    created = user_create(username=f"{role}-user", role=role)
    client = Client()
    client.force_login(get_user_model().objects.get(username=created.username))
    return client


@pytest.fixture
def steward(db: None) -> Client:
    return signed_in(STEWARD)


@pytest.fixture
def viewer(db: None) -> Client:
    return signed_in(VIEWER)
