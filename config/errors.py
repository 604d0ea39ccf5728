"""One error vocabulary: domain errors raised by services, mapped here to a stable JSON body.

Every API error answers ``{"message": str, "errors": [{"path": str, "message": str}, ...]}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class ApplicationError(Exception):
    """Base for domain errors; ``status`` is the HTTP status the API answers with."""

    message: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errors": [e.as_dict() for e in self.errors]}


class ValidationFailed(ApplicationError):
    pass


class NotFound(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=404)


class PermissionDenied(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=403)


class ServiceUnavailable(ApplicationError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message=message, status=503, headers={"Retry-After": str(retry_after)})


def error_response(error: ApplicationError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for key, value in error.headers.items():
        response[key] = value
    return response


def _database_unavailable() -> ApplicationError:
    from django.conf import settings

    return ServiceUnavailable(
        "The database is unavailable; retry later.", retry_after=settings.TRACEMARK_RETRY_AFTER_SECONDS
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.body(), status=exc.status, headers=exc.headers)
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        # The client is told to retry; the log says why (an outage, a deadlock, a timeout…).
        logger.error("database error answered with 503: %s: %s", type(exc).__name__, str(exc).strip()[:500])
        err = _database_unavailable()
        return Response(err.body(), status=err.status, headers=err.headers)
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    errors: list[dict[str, str]] = []
    if isinstance(exc, drf_exceptions.ValidationError) and isinstance(detail, dict):
        for key, value in detail.items():
            messages = value if isinstance(value, list) else [value]
            errors.extend({"path": str(key), "message": str(m)} for m in messages)
        message = "The request is invalid."
    elif isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
    else:
        message = str(detail)
    response.data = {"message": message, "errors": errors}
    return response
