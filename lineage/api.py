"""HTTP API of the lineage app: OpenLineage intake (single and batch)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import FieldError
from config.metrics import INTAKE_EVENTS, INTAKE_LATENCY, INTAKE_REQUESTS
from lineage.authentication import ApiKeyAuthentication
from lineage.bodies import Unparsable, parse_batch, parse_json, read_body
from lineage.exceptions import EventRejected, MalformedBody, NamespaceForbidden
from lineage.models import ApiKey
from lineage.permissions import IsProducer
from lineage.services import IntakeResult, events_ingest, intake_expecting
from lineage.throttling import intake_slot

_error_body = inline_serializer(
    "ErrorBody",
    {
        "message": serializers.CharField(),
        "errors": serializers.ListField(
            child=inline_serializer("FieldError", {"path": serializers.CharField(), "message": serializers.CharField()})
        ),
    },
)
_result_body = inline_serializer(
    "IntakeResult",
    {
        "status": serializers.ChoiceField(["accepted", "duplicate", "invalid", "forbidden"]),
        "seq": serializers.IntegerField(required=False, help_text="Ledger sequence number."),
        "hash": serializers.CharField(required=False, help_text="SHA-256 of the canonical event JSON."),
        "warnings": serializers.ListField(child=serializers.CharField(), required=False),
        "errors": serializers.ListField(child=serializers.DictField(), required=False),
    },
)
_common_errors = {
    400: OpenApiResponse(_error_body, description="Invalid JSON or an invalid event; nothing stored."),
    401: OpenApiResponse(_error_body, description="Missing, invalid or revoked API key."),
    403: OpenApiResponse(_error_body, description="The key may not write to the event's namespace."),
    413: OpenApiResponse(_error_body, description="Body larger than the limit (also after gunzip)."),
    415: OpenApiResponse(_error_body, description="Not JSON, or an unsupported Content-Encoding."),
    503: OpenApiResponse(_error_body, description="Overloaded or database unavailable; retry after Retry-After."),
}


class MethodCheckedFirst(APIView):
    # A method the view does not have gets 405 before the caller is identified. DRF authenticates
    # first, so a TRACE without credentials would get 401 and one with them 405: the answer to "is
    # this method supported" must not depend on who asks. (A comment, not a docstring: spectacular
    # would show a docstring as every subclass's description.)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)


class _IntakeView(MethodCheckedFirst):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsProducer]
    endpoint = "lineage"

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # From here on, a group commit under way in this process may wait a moment for this request.
        with intake_expecting():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        INTAKE_REQUESTS.labels(self.endpoint, str(response.status_code)).inc()
        started = getattr(self, "_started", None)
        if started is not None:
            INTAKE_LATENCY.labels(self.endpoint).observe(time.perf_counter() - started)
        return response


def _count(results: list[IntakeResult]) -> None:
    for result in results:
        INTAKE_EVENTS.labels(result.status).inc()


class LineageIntakeApi(_IntakeView):
    @extend_schema(
        operation_id="lineage_post",
        summary="Accept one OpenLineage event (RunEvent, DatasetEvent or JobEvent)",
        description=(
            "The endpoint every OpenLineage client posts to. Plain JSON or `Content-Encoding: gzip`. "
            "201 when stored, 200 when the same event was already stored."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={201: _result_body, 200: _result_body, **_common_errors},
        examples=[
            OpenApiExample(
                "duplicate",
                value={"status": "duplicate", "seq": 42, "hash": "…"},
                response_only=True,
                status_codes=[200],
            )
        ],
        tags=["intake"],
    )
    def post(self, request: Request) -> Response:
        with intake_slot():
            body = read_body(request._request, limit=settings.TRACEMARK_MAX_BODY_BYTES)
            event = parse_json(body)
            if isinstance(event, list):
                raise MalformedBody("The body is a JSON array: post arrays to /api/v1/lineage/batch.")
            assert isinstance(request.auth, ApiKey)
            (result,) = events_ingest(events=[event], producer=request.auth).results
        _count([result])
        if result.status == "invalid":
            raise EventRejected(list(result.errors))
        if result.status == "forbidden":
            raise NamespaceForbidden([e.message.rsplit(": ", 1)[-1] for e in result.errors])
        code = status.HTTP_201_CREATED if result.status == "accepted" else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


class LineageBatchApi(_IntakeView):
    endpoint = "lineage_batch"

    @extend_schema(
        operation_id="lineage_batch_post",
        summary="Accept many OpenLineage events in one request",
        description=(
            "A JSON array or NDJSON (one event per line). Answers 200 with a result per event, in "
            "order; valid events are stored even if others are not."
        ),
        # Any JSON: an array of events, or NDJSON lines. Whatever an item is, it gets its own result
        # (an item that is not an event: "invalid"), so no body that parses is refused whole.
        request={"application/json": OpenApiTypes.ANY, "application/x-ndjson": OpenApiTypes.STR},
        responses={
            200: inline_serializer(
                "BatchResult",
                {
                    "accepted": serializers.IntegerField(),
                    "duplicate": serializers.IntegerField(),
                    "invalid": serializers.IntegerField(),
                    "results": serializers.ListField(child=_result_body),
                },
            ),
            **_common_errors,
        },
        tags=["intake"],
    )
    def post(self, request: Request) -> Response:
        with intake_slot():
            body = read_body(request._request, limit=settings.TRACEMARK_MAX_BATCH_BODY_BYTES)
            items = list(parse_batch(body))
            limit = settings.TRACEMARK_MAX_BATCH_EVENTS
            if len(items) > limit:
                raise MalformedBody(f"The batch holds {len(items)} events; the limit is {limit}.")
            assert isinstance(request.auth, ApiKey)
            parsed = [item for item in items if not isinstance(item, Unparsable)]
            outcome = events_ingest(events=parsed, producer=request.auth)
        stored = iter(outcome.results)
        results: list[IntakeResult] = [
            IntakeResult(status="invalid", errors=(FieldError(path="", message=item.message),))
            if isinstance(item, Unparsable)
            else next(stored)
            for item in items
        ]
        _count(results)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("accepted", "duplicate")}
        counts["invalid"] = len(results) - counts["accepted"] - counts["duplicate"]
        return Response(
            {**counts, "results": [{"index": i, **r.as_dict()} for i, r in enumerate(results)]},
            status=status.HTTP_200_OK,
        )
