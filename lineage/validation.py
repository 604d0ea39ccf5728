"""Validation of incoming OpenLineage events (``POST /api/v1/lineage``).

Pure module: no Django imports, so it can be used from anywhere (API, Celery tasks, scripts).

The rules live in ``lineage/schemas/openlineage.json``. The happy path asks jsonschema-rs (compiled,
~35 µs for a 6 KB event against ~240 µs for the fastjsonschema code it replaced) whether the event
is valid; only when it is not does jsonschema's ``Draft202012Validator`` walk the event again to
report every problem with its dotted path. Both validators share the same ``date-time`` and
``uuid`` checks, defined here.

Leniency, like the reference server (Marquez): these are accepted and reported as warnings -
an ``eventTime`` without UTC offset (read as UTC) or with more than microsecond precision
(truncated), a missing top-level ``schemaURL``, a ``producer``/``schemaURL`` that is not a URI,
and facets without ``_producer``/``_schemaURL``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

__all__ = ("SCHEMA_PATH", "EventInvalid", "EventKind", "Problem", "Validated", "validate_event")

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "openlineage.json"

EventKind = Literal["RunEvent", "DatasetEvent", "JobEvent"]

# Facet maps of input/output datasets; their facets should carry _producer/_schemaURL.
_DATASET_FACET_CONTAINERS = {"inputs": ("facets", "inputFacets"), "outputs": ("facets", "outputFacets")}
# At most this many per-facet warnings; the rest are counted in one summary warning.
_MAX_FACET_WARNINGS = 20
# Problems listed in EventInvalid's message (all of them are in ``problems``).
_MAX_PROBLEMS_IN_MESSAGE = 5
_MAX_VALUE_IN_WARNING = 80


@dataclass(frozen=True)
class Problem:
    """One reason an event is rejected: ``path`` is dotted (``inputs.0.facets.schema``), "" for the event."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(event)'}: {self.message}"


@dataclass(frozen=True)
class Validated:
    kind: EventKind
    event_time: datetime  # timezone-aware, UTC
    warnings: tuple[str, ...]


class EventInvalid(Exception):
    """The event was rejected; ``problems`` lists every problem, sorted by path."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:_MAX_PROBLEMS_IN_MESSAGE])
        more = len(self.problems) - _MAX_PROBLEMS_IN_MESSAGE
        if more > 0:
            shown += f"; and {more} more"
        count = len(self.problems)
        super().__init__(f"invalid OpenLineage event ({count} problem{'s' if count != 1 else ''}): {shown}")


# --- Formats shared by both validators ------------------------------------------------------------

_DATE_TIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# The hyphenated form of a UUID, the one OpenLineage sends and Tracemark stores and shows (URL routes,
# run node ids and their OpenAPI pattern use the same).
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_RE = re.compile(UUID_PATTERN, re.ASCII)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", re.ASCII)


@dataclass(frozen=True)
class _Timestamp:
    value: datetime  # UTC
    had_offset: bool
    truncated: bool  # more than 6 fractional digits were dropped


def _parse_timestamp(text: str) -> _Timestamp | None:
    """RFC 3339 date-time, leniently: the offset may be missing (read as UTC), up to 9 fractional digits."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    fraction = match["fraction"] or ""
    offset = match["offset"]
    try:
        if offset is None or offset in "Zz":
            tz = UTC
        else:
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            tz = timezone(-delta if offset[0] == "-" else delta)
        value = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return _Timestamp(value=value, had_offset=offset is not None, truncated=len(fraction) > 6)


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or _parse_timestamp(value) is not None


def _is_date_or_date_time(value: object) -> bool:
    if not isinstance(value, str) or _parse_timestamp(value) is not None:
        return True
    if _DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or UUID_RE.fullmatch(value) is not None


_FORMATS: dict[str, Callable[[object], bool]] = {
    "date-time": _is_date_time,
    "date-or-date-time": _is_date_or_date_time,
    "uuid": _is_uuid,
}
_FORMAT_MESSAGES = {
    "date-time": "not a valid date-time (expected RFC 3339, e.g. 2024-05-01T12:00:00Z)",
    "date-or-date-time": "not a valid date-time or date (expected RFC 3339, e.g. 2024-05-01T12:00:00Z)",
    "uuid": "not a valid UUID (expected e.g. 3f5e83fa-3480-44ff-99c5-ff943904e5e8)",
}


# --- Compiled validators (built once, on first use) -----------------------------------------------


def _fast_can_take(event: object) -> bool:
    """Whether the event is plain JSON that jsonschema-rs may walk.

    jsonschema-rs recurses on the native stack: an event nested tens of thousands of levels deep
    crashes the process instead of raising. orjson refuses (with an exception) anything nested more
    than 254 levels, integers beyond 64 bits and non-JSON types, in a few microseconds; those events
    go to the full validator, which says what is wrong (or, for deep nesting, "nested too deeply").
    The canonical form of the event is written by orjson too, so nothing it refuses could be stored.
    """
    try:
        orjson.dumps(event)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return True


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        _schema(),
        formats=_FORMATS,
        validate_formats=True,
        ignore_unknown_formats=False,
        offline=True,  # the schema's $refs are all local; never fetch one
    )


@functools.cache
def _full_validator() -> Draft202012Validator:
    checker = FormatChecker(formats=())
    for name, check in _FORMATS.items():
        checker.checks(name)(check)
    return Draft202012Validator(_schema(), format_checker=checker)


# --- Public API -----------------------------------------------------------------------------------


def validate_event(event: object) -> Validated:
    """Check one decoded OpenLineage event; return its kind, UTC event time and any warnings.

    Raises ``EventInvalid`` listing every problem (sorted by path) when the event is rejected.
    """
    if not (_fast_can_take(event) and _fast_validator().is_valid(event)):
        problems = _problems(event)
        if problems:
            raise EventInvalid(problems)
    if not isinstance(event, dict):  # the full validator accepted what the fast one could not take
        raise EventInvalid((Problem("", "expected object"),))
    stamp = _parse_timestamp(event["eventTime"])
    assert stamp is not None  # guaranteed by the date-time format check
    kind = _kind(event)
    return Validated(kind=kind, event_time=stamp.value, warnings=tuple(_warnings(event, kind, stamp)))


def event_kind(event: Mapping[str, Any]) -> EventKind:
    """RunEvent, DatasetEvent or JobEvent, for an event that passed validation."""
    return _kind(event)


def _kind(event: Mapping[str, Any]) -> EventKind:
    # Same precedence as the schema's if/then/else chain.
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    return "RunEvent"


# --- Problems (slow path) -------------------------------------------------------------------------


def _problems(event: object) -> list[Problem]:
    """Every problem the full validator finds, sorted by path; [] when it finds none.

    When jsonschema-rs refused the event and jsonschema finds nothing, what jsonschema-rs says is
    reported instead: an event is accepted only when the validator that ran said yes.
    """
    try:
        found = {problem for error in _full_validator().iter_errors(event) for problem in _describe(error)}
    except RecursionError:
        return [Problem("", "nested too deeply")]
    if not found and _fast_can_take(event):
        found = {_from_fast(error) for error in _fast_validator().iter_errors(event)}
    return sorted(found, key=_problem_sort_key)


def _describe(error: ValidationError) -> Iterator[Problem]:
    path = list(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        instance = error.instance
        for key in error.validator_value:
            if isinstance(instance, dict) and key not in instance:
                yield Problem(_dotted([*path, key]), "required")
        return
    if keyword == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        yield Problem(_dotted(path), "expected " + " or ".join(names))
    elif keyword == "format":
        yield Problem(_dotted(path), _FORMAT_MESSAGES.get(error.validator_value, error.message))
    elif keyword == "enum":
        yield Problem(_dotted(path), "must be one of: " + ", ".join(str(v) for v in error.validator_value))
    elif keyword == "minimum":
        yield Problem(_dotted(path), f"must be at least {error.validator_value}")
    else:
        yield Problem(_dotted(path), error.message)


def _from_fast(error: jsonschema_rs.ValidationError) -> Problem:
    return Problem(_dotted(error.instance_path), error.message)


def _dotted(path: Iterable[object]) -> str:
    return ".".join(str(part) for part in path)


def _problem_sort_key(problem: Problem) -> tuple[tuple[tuple[int, int, str], ...], str]:
    parts = problem.path.split(".") if problem.path else []
    return (tuple((0, int(p), "") if p.isdecimal() else (1, 0, p) for p in parts), problem.message)


# --- Warnings (accepted departures from the spec) -------------------------------------------------


def _warnings(event: Mapping[str, Any], kind: EventKind, stamp: _Timestamp) -> list[str]:
    warnings: list[str] = []
    if not stamp.had_offset:
        warnings.append("eventTime has no UTC offset; read as UTC")
    if stamp.truncated:
        warnings.append("eventTime has more than microsecond precision; truncated to microseconds")
    producer = event["producer"]
    if _URI.fullmatch(producer) is None:
        warnings.append(f"producer is not a URI: {_shorten(producer)}")
    schema_url = event.get("schemaURL")
    if schema_url is None:
        warnings.append("schemaURL is missing")
    elif _URI.fullmatch(schema_url) is None:
        warnings.append(f"schemaURL is not a URI: {_shorten(schema_url)}")
    warnings.extend(_facet_warnings(event, kind))
    return warnings


def _facet_warnings(event: Mapping[str, Any], kind: EventKind) -> list[str]:
    lacking: list[str] = []
    for path, facets in _facet_maps(event, kind):
        for name, facet in facets.items():
            if not isinstance(facet, dict):  # cannot happen after validation; be safe anyway
                continue
            missing = [key for key in ("_producer", "_schemaURL") if key not in facet]
            if missing:
                lacking.append(f"{path}.{name}: facet has no {' or '.join(missing)}")
    if len(lacking) > _MAX_FACET_WARNINGS:
        extra = len(lacking) - _MAX_FACET_WARNINGS
        lacking = [*lacking[:_MAX_FACET_WARNINGS], f"and {extra} more facets without _producer/_schemaURL"]
    return lacking


def _facet_maps(event: Mapping[str, Any], kind: EventKind) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The facet maps the schema validated for this kind of event, with their paths."""
    nodes = ("dataset",) if kind == "DatasetEvent" else ("run", "job") if kind == "RunEvent" else ("job",)
    for key in nodes:
        node = event.get(key)
        if isinstance(node, dict) and isinstance(node.get("facets"), dict):
            yield f"{key}.facets", node["facets"]
    if kind == "DatasetEvent":
        return
    for key, containers in _DATASET_FACET_CONTAINERS.items():
        datasets = event.get(key)
        for index, dataset in enumerate(datasets if isinstance(datasets, list) else ()):
            for container in containers:
                facets = dataset.get(container) if isinstance(dataset, dict) else None
                if isinstance(facets, dict):
                    yield f"{key}.{index}.{container}", facets


def _shorten(value: str) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_IN_WARNING else text[: _MAX_VALUE_IN_WARNING - 3] + "..."


# --- What the database cannot hold -----------------------------------------------------------------

MAX_NAME = 1024  # width of the namespace, dataset and job name columns


def storage_problems(event: object, payload: bytes) -> list[Problem]:
    """Problems with values the schema allows but the database cannot store.

    PostgreSQL text cannot hold the NUL character (U+0000), and names longer than their columns
    would be cut. Both are refused with the path of each offending value. ``payload`` is the event's
    canonical JSON: when it shows neither an escaped NUL nor a long string (nearly always), the event
    is not walked at all.
    """
    # A stretch of more than MAX_NAME bytes between two quotes is the cheap sign (split runs in C) that
    # some string may be too long for a name; only then is the event walked.
    if b"\\u0000" not in payload and max(map(len, payload.split(b'"'))) <= MAX_NAME:
        return []
    found: set[Problem] = set()

    def walk(node: object, path: list[object]) -> None:
        if isinstance(node, dict):
            namespace, name = node.get("namespace"), node.get("name")
            if isinstance(namespace, str) and isinstance(name, str):
                for key, value in (("namespace", namespace), ("name", name)):
                    if len(value) > MAX_NAME:
                        found.add(Problem(_dotted([*path, key]), f"is longer than {MAX_NAME} characters"))
            for key, value in node.items():
                if "\x00" in key:
                    found.add(Problem(_dotted(path), "has a key holding the NUL character (U+0000)"))
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])
        elif isinstance(node, str) and "\x00" in node:
            found.add(Problem(_dotted(path), "must not contain the NUL character (U+0000)"))

    try:
        walk(event, [])
    except RecursionError:
        return [Problem("", "nested too deeply")]
    return sorted(found, key=_problem_sort_key)
