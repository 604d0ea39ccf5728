from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from lineage.services import IssuedKey, api_key_issue


@pytest.fixture
def producer_key(db: None) -> IssuedKey:
    return api_key_issue(name="pipeline")


@pytest.fixture
def producer(producer_key: IssuedKey) -> APIClient:
    """An API client authenticated as a producer, the way the OpenLineage client sends its key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}")
    return client
