"""Liveness, readiness and Prometheus metrics endpoints."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return f"database: {type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
    except Exception as exc:  # any transport error means "not ready"
        return f"broker: {type(exc).__name__}: {exc}"
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the broker are reachable."""
    problems = [p for p in (_check_database(), _check_broker()) if p]
    if problems:
        logger.warning("not ready", extra={"problems": problems})
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from config.metrics import database_registry, registry

    body = generate_latest(registry()) + generate_latest(database_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
