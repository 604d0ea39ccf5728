"""Reading intake request bodies: size limits, gzip (bomb-safe), JSON, JSON arrays and NDJSON."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.http import HttpRequest

from lineage.canonical import has_long_digit_run
from lineage.exceptions import BodyTooLarge, MalformedBody, UnsupportedMediaType

JSON_TYPES = {
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "text/json",
}


def _media_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, inflated if gzip-encoded; 413 past ``limit`` bytes before or after inflating."""
    media = _media_type(request)
    if media and media not in JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(media)
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    raw = request.body
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    if declared and declared.isdigit() and len(raw) < int(declared):
        # The client closed early (RFC 9112 6.3: an incomplete message); storing it would keep a
        # fragment that merely happens to parse.
        raise MalformedBody(
            f"The body ended after {len(raw)} of the {int(declared)} bytes its Content-Length announced."
        )
    encoding = (request.META.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnsupportedMediaType(f"Content-Encoding: {encoding}")
    return inflate(raw, limit=limit, gzip=encoding != "deflate")


def inflate(raw: bytes, *, limit: int, gzip: bool = True) -> bytes:
    """Inflate at most ``limit`` bytes; a bomb is refused without inflating it fully."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
    try:
        out = decoder.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise MalformedBody(f"The body is not valid gzip data: {exc}") from exc
    if len(out) > limit or decoder.unconsumed_tail:
        raise BodyTooLarge(limit)
    return out


# orjson reads integers outside the 64-bit range as floats, which would store another number than
# the producer sent; such bodies are refused. A run of 19+ digits is the cheap sign to look closer.
_INT_RANGE = range(-(2**63), 2**64)


class _IntegerOutOfRange(ValueError):
    pass


def _exact_int(text: str) -> int:
    value = int(text)
    if value not in _INT_RANGE:
        raise _IntegerOutOfRange(text)
    return value


def _refuse_inexact_integers(data: bytes) -> None:
    if not has_long_digit_run(data):
        return
    try:
        json.loads(data, parse_int=_exact_int)
    except _IntegerOutOfRange as exc:
        shown = str(exc) if len(str(exc)) <= 30 else f"{str(exc)[:27]}..."
        raise MalformedBody(
            f"The body holds the integer {shown}, beyond the 64-bit range, which cannot be stored exactly: "
            "send it as a string."
        ) from None
    except ValueError:  # not for us to judge: orjson decided it was JSON
        return


def parse_json(data: bytes) -> Any:
    if not data.strip():
        raise MalformedBody("The request body is empty: send one OpenLineage event as JSON.")
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"The body is not valid JSON: {exc}") from exc
    _refuse_inexact_integers(data)
    return parsed


@dataclass(frozen=True)
class Unparsable:
    """A line of an NDJSON body that is not JSON."""

    line: int
    message: str


def parse_batch(data: bytes) -> Iterator[Any | Unparsable]:
    """Events of a batch body: a JSON array, or NDJSON (one event per line)."""
    stripped = data.lstrip()
    if not stripped:
        raise MalformedBody("The request body is empty: send a JSON array or NDJSON of events.")
    if stripped[:1] == b"[":
        events = parse_json(stripped)
        if not isinstance(events, list):
            raise MalformedBody("The body is not a JSON array.")
        yield from events
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = orjson.loads(line)
            _refuse_inexact_integers(line)
        except orjson.JSONDecodeError as exc:
            yield Unparsable(line=number, message=f"line {number} is not valid JSON: {exc}")
        except MalformedBody as exc:
            yield Unparsable(line=number, message=f"line {number}: {exc}")
        else:
            yield parsed
