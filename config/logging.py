"""Structured (JSON) log records carrying the request id."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from config.request_context import current_request_id

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = _request_line(value) if key == "request" else value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


def _request_line(request: object) -> object:
    """Django logs the request object itself; keep its method and path, never the query string
    (a client may put a key there) nor anything else the repr would show."""
    method, path = getattr(request, "method", None), getattr(request, "path", None)
    if isinstance(path, str):
        return f"{method} {path}"
    return "-"
