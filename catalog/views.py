"""Tracemark facet JSON Schemas, served at stable URLs for producers' ``_schemaURL``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_VERSIONS = {"1-0-0"}


@lru_cache(maxsize=16)
def _schema(name: str) -> dict[str, Any]:
    return orjson.loads((SCHEMA_DIR / f"{name}.json").read_bytes())


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))


@require_GET
@cache_control(max_age=86400, public=True)
def facet_schema(request: HttpRequest, name: str, version: str) -> JsonResponse:
    if version not in SCHEMA_VERSIONS or name not in schema_names():
        raise Http404("no such facet schema")
    schema = dict(_schema(name))
    schema["$id"] = request.build_absolute_uri(schema["$id"])
    response = JsonResponse(schema, json_dumps_params={"indent": 2})
    response["Access-Control-Allow-Origin"] = "*"
    return response
