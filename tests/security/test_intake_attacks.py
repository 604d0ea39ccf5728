"""Bad input on the intake, through the real endpoint: zero 5xx, a clear 4xx, nothing partly stored.

Hand-picked attacks first (each names what it tries), then hypothesis-generated ones.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from lineage.models import Job, LedgerEntry, Namespace
from lineage.services import IssuedKey
from tests.factories import dataset, run_event
from tests.security.conftest import assert_clean_rejection, stored_counts

pytestmark = pytest.mark.django_db

SINGLE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def api(producer_key: IssuedKey) -> APIClient:
    """A producer client that answers a crash with a 500 response instead of raising it."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {producer_key.secret}")
    return client


def post(client: APIClient, body: bytes, path: str = SINGLE, content_type: str = "application/json", **extra: str):
    return client.generic("POST", path, body, content_type=content_type, **extra)


def valid() -> bytes:
    return orjson.dumps(run_event())


def with_custom_facet(raw_value: bytes) -> bytes:
    """A valid run event whose custom run facet ``c.v`` is ``raw_value`` (raw JSON text)."""
    facet = b'{"c":{"_producer":"https://example.org/p","_schemaURL":"https://example.org/s","v":' + raw_value + b"}}"
    return valid().replace(b'"facets":{}', b'"facets":' + facet, 1)


def with_namespace(raw_json_string: bytes) -> bytes:
    return orjson.dumps(run_event(namespace="NS")).replace(b'"NS"', raw_json_string)


# --- Malformed bodies ----------------------------------------------------------------------------

MALFORMED: dict[str, bytes] = {
    "empty body": b"",
    "whitespace only": b"  \n\t ",
    "truncated object": valid()[:-1],
    "truncated mid-string": valid()[: len(valid()) // 2],
    "trailing garbage": valid() + b"}",
    "two documents": valid() + valid(),
    "null": b"null",
    "number": b"42",
    "string": b'"event"',
    "array on the single endpoint": b"[" + valid() + b"]",
    "NaN literal": valid().replace(b'"COMPLETE"', b"NaN"),
    "Infinity literal": with_custom_facet(b"Infinity"),
    "-Infinity literal": with_custom_facet(b"-Infinity"),
    "number that overflows a double": with_custom_facet(b"1e400"),
    "single quotes": valid().replace(b'"', b"'"),
    "trailing comma": valid()[:-1] + b",}",
    "comment": b"/* hi */" + valid(),
    "invalid UTF-8 byte": with_namespace(b'"\xff\xfe"'),
    "overlong UTF-8 encoding": with_namespace(b'"\xc0\xaf"'),
    "UTF-8 encoded surrogate": with_namespace(b'"\xed\xa0\x80"'),
    "lone high surrogate escape": with_namespace(b'"\\ud800"'),
    "lone low surrogate escape": with_namespace(b'"\\udc00"'),
    "UTF-16 body": valid().decode().encode("utf-16"),
    "100k nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "100k nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "1000 nested arrays in a facet": with_custom_facet(b"[" * 1000 + b"]" * 1000),
    "300 nested arrays in a facet": with_custom_facet(b"[" * 300 + b"]" * 300),
    "binary garbage": bytes(range(256)) * 8,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_body_is_refused_with_a_clear_400_and_nothing_is_stored(api: APIClient, body: bytes) -> None:
    before = stored_counts()

    response = post(api, body)

    assert_clean_rejection(response)
    assert response.status_code == 400
    assert stored_counts() == before


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_body_on_the_batch_endpoint_is_never_a_server_error(api: APIClient, body: bytes) -> None:
    before = stored_counts()

    response = post(api, body, path=BATCH)

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_clean_rejection(response)
        assert stored_counts() == before


def test_deeply_nested_ndjson_line_is_reported_for_that_line_only(api: APIClient) -> None:
    body = valid() + b"\n" + b"{" + b'"a":{' * 5000 + b"}" * 5001 + b"\n" + valid()

    response = post(api, body, path=BATCH, content_type="application/x-ndjson")

    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "invalid", "accepted"]
    assert LedgerEntry.objects.count() == 2


def test_duplicate_keys_are_read_last_wins_and_stored_as_read(api: APIClient) -> None:
    body = b'{"eventType":"START",' + valid()[1:]

    response = post(api, body)

    assert response.status_code == 201
    assert orjson.loads(LedgerEntry.objects.get().payload)["eventType"] == "COMPLETE"


def test_integer_beyond_64_bits_is_refused_or_kept_exactly(api: APIClient) -> None:
    big = b"123456789012345678901234567890"

    response = post(api, with_custom_facet(big))

    assert response.status_code in (201, 400)
    if response.status_code == 201:
        assert big in LedgerEntry.objects.get().payload.encode()


# --- Wrong types, sizes, encodings --------------------------------------------------------------


WRONG_TYPES: dict[str, dict[str, Any]] = {
    "eventTime is a number": {"eventTime": 1714824000},
    "eventTime is not a date": {"eventTime": "yesterday"},
    "runId is not a uuid": {"run": {"runId": "not-a-uuid"}},
    "run is a list": {"run": []},
    "job is a string": {"job": "etl.load"},
    "job namespace is null": {"job": {"namespace": None, "name": "x"}},
    "inputs is an object": {"inputs": {"namespace": "a", "name": "b"}},
    "an input is a string": {"inputs": ["s3://bucket/raw"]},
    "eventType unknown": {"eventType": "EXPLODE"},
    "producer is a number": {"producer": 7},
    "facets is a list": {"run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8", "facets": []}},
}


@pytest.mark.parametrize("patch", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_type_is_refused_with_a_400_naming_the_field(api: APIClient, patch: dict[str, Any]) -> None:
    before = stored_counts()

    response = post(api, orjson.dumps({**run_event(), **patch}))

    body = assert_clean_rejection(response)
    assert response.status_code == 400
    assert body["errors"], body
    assert all(isinstance(e.get("path"), str) and e.get("message") for e in body["errors"])
    assert stored_counts() == before


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_body_over_the_limit_is_refused_with_413(api: APIClient, path: str, settings: Any) -> None:
    settings.TRACEMARK_MAX_BODY_BYTES = settings.TRACEMARK_MAX_BATCH_BODY_BYTES = 64 * 1024
    before = stored_counts()

    response = post(api, with_custom_facet(orjson.dumps("x" * 100_000)), path=path)

    assert_clean_rejection(response)
    assert response.status_code == 413
    assert stored_counts() == before


def test_huge_array_in_a_facet_within_the_limit_is_accepted_verbatim(api: APIClient) -> None:
    values = list(range(200_000))

    response = post(api, with_custom_facet(orjson.dumps(values)))

    assert response.status_code == 201
    assert orjson.loads(LedgerEntry.objects.get().payload)["run"]["facets"]["c"]["v"] == values


def test_batch_with_more_events_than_the_limit_is_refused_whole(api: APIClient, settings: Any) -> None:
    settings.TRACEMARK_MAX_BATCH_EVENTS = 10
    before = stored_counts()

    response = post(api, orjson.dumps([run_event() for _ in range(11)]), path=BATCH)

    assert_clean_rejection(response)
    assert stored_counts() == before


def _bomb(inflated_bytes: int) -> bytes:
    """A gzip stream that inflates to ``inflated_bytes`` zero bytes, built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(inflated_bytes >> 20)]
    return b"".join(parts) + compressor.flush()


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_gzip_bomb_is_refused_with_413_without_inflating_it(api: APIClient, path: str) -> None:
    bomb = _bomb(1 << 30)  # 1 GiB of zeros in ~1 MB
    before = stored_counts()

    response = post(api, bomb, path=path, HTTP_CONTENT_ENCODING="gzip")

    assert_clean_rejection(response)
    assert response.status_code == 413
    assert stored_counts() == before


ENCODINGS: dict[str, tuple[str, bytes, int]] = {
    "brotli is not supported": ("br", valid(), 415),
    "unknown encoding": ("compress", valid(), 415),
    "stacked encodings": ("gzip, gzip", gzip.compress(gzip.compress(valid())), 415),
    "gzip header on a plain body": ("gzip", valid(), 400),
    "truncated gzip": ("gzip", gzip.compress(valid())[:-12], 400),
    "gzip of a gzip": ("gzip", gzip.compress(gzip.compress(valid())), 400),
    "gzip of garbage JSON": ("gzip", gzip.compress(b"{not json"), 400),
    "deflate header on gzip data": ("deflate", gzip.compress(valid()), 400),
}


@pytest.mark.parametrize(("encoding", "body", "status"), ENCODINGS.values(), ids=ENCODINGS.keys())
def test_wrong_content_encoding_is_refused_cleanly(api: APIClient, encoding: str, body: bytes, status: int) -> None:
    before = stored_counts()

    response = post(api, body, HTTP_CONTENT_ENCODING=encoding)

    assert_clean_rejection(response)
    assert response.status_code == status
    assert stored_counts() == before


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", "application/xml"])
def test_non_json_content_type_is_refused_with_415(api: APIClient, content_type: str) -> None:
    response = post(api, valid(), content_type=content_type)

    assert_clean_rejection(response)
    assert response.status_code == 415


def test_declared_content_length_over_the_limit_is_refused_before_reading(api: APIClient) -> None:
    response = post(api, valid(), CONTENT_LENGTH=str(10**12))

    assert_clean_rejection(response)
    assert response.status_code == 413


def test_content_length_shorter_than_the_body_reads_a_truncated_event_and_refuses_it(api: APIClient) -> None:
    body = valid()

    response = post(api, body, CONTENT_LENGTH=str(len(body) - 10))

    assert_clean_rejection(response)
    assert LedgerEntry.objects.count() == 0


# --- Odd names --------------------------------------------------------------------------------------

ODD_NAMES = {
    "right-to-left override": "s3://\u202eevil\u202c/gpj.exe",
    "4-byte emoji": "s3://data/\U0001f600\U0001f4a9",
    "zero-width joiner": "s3://a\u200db",
    "combining marks": "s3://e\u0301\u0301\u0301",
    "arabic and hebrew": "s3://\u0645\u0631\u062d\u0628\u0627/\u05e9\u05dc\u05d5\u05dd",
    "private use": "s3://\ue000\U000f0000",
    "noncharacter": "s3://\ufffe\uffff",
    "BOM inside": "s3://\ufeffname",
    "newline and tab": "s3://a\nb\tc",
    "quotes and backslashes": 's3://"a"\\b\'',
    "SQL-looking": "s3://x'; DROP TABLE lineage_ledgerentry; --",
    "HTML-looking": "s3://<script>alert(1)</script>",
    "path traversal": "file:///../../etc/passwd",
}


@pytest.mark.parametrize("name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_odd_unicode_names_are_stored_exactly(api: APIClient, name: str) -> None:
    event = run_event(namespace=name, job=name, inputs=[dataset(namespace=name, name=name)])

    response = post(api, orjson.dumps(event))

    assert response.status_code == 201, response.content
    assert Namespace.objects.filter(name=name).exists()
    assert Job.objects.filter(namespace__name=name, name=name).exists()
    assert orjson.loads(LedgerEntry.objects.get().payload) == event


@pytest.mark.parametrize(
    "body",
    [with_namespace(b'"s3://a\\u0000b"'), with_custom_facet(b'"a\\u0000b"')],
    ids=["NUL in a namespace", "NUL in a custom facet"],
)
def test_nul_character_is_never_a_server_error(api: APIClient, body: bytes) -> None:
    before = stored_counts()

    response = post(api, body)

    assert response.status_code < 500, response.content[:200]
    if response.status_code >= 400:
        assert_clean_rejection(response)
        assert stored_counts() == before


@pytest.mark.parametrize("where", ["namespace", "job", "dataset"])
def test_name_longer_than_the_column_is_never_a_server_error(api: APIClient, where: str) -> None:
    long = "n" * 4000
    event = {
        "namespace": run_event(namespace=long),
        "job": run_event(job=long),
        "dataset": run_event(inputs=[dataset(name=long)]),
    }[where]
    before = stored_counts()

    response = post(api, orjson.dumps(event))

    assert response.status_code < 500, response.content[:200]
    if response.status_code >= 400:
        assert_clean_rejection(response)
        assert stored_counts() == before


# --- Hypothesis ------------------------------------------------------------------------------------

# Text without NUL and lone surrogates (those two have their own tests above).
safe_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | safe_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(safe_text, children, max_size=4),
    max_leaves=12,
).filter(lambda v: v not in (float("inf"), float("-inf")))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = run_event(inputs=[dataset(name="raw/in", schema={"fields": [{"name": "a", "type": "INT"}]})])
    path = draw(st.sampled_from(_paths(event)))
    return _replace(event, path, draw(json_values))


@FUZZ
@given(body=st.binary(max_size=2000))
def test_arbitrary_bytes_never_cause_a_server_error(api: APIClient, body: bytes) -> None:
    before = stored_counts()

    response = post(api, body)

    assert response.status_code < 500, response.content[:300]
    assert_clean_rejection(response)
    assert stored_counts() == before


@FUZZ
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_any_truncation_of_a_valid_event_is_refused_and_stores_nothing(api: APIClient, cut: int) -> None:
    body = valid()
    before = stored_counts()

    response = post(api, body[: cut % len(body)])

    assert_clean_rejection(response)
    assert stored_counts() == before


@FUZZ
@given(event=mutated_events())
def test_an_event_with_any_value_replaced_is_accepted_whole_or_refused_whole(api: APIClient, event: Any) -> None:
    before = stored_counts()

    response = post(api, orjson.dumps(event))

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_clean_rejection(response)
        assert stored_counts() == before
    else:
        assert LedgerEntry.objects.filter(seq=response.json()["seq"]).exists()


@FUZZ
@given(events=st.lists(st.one_of(mutated_events(), json_values), max_size=6))
def test_a_batch_of_anything_stores_exactly_the_events_it_reports_accepted(api: APIClient, events: list[Any]) -> None:
    ledger_before = LedgerEntry.objects.count()

    response = post(api, orjson.dumps(events), path=BATCH)

    assert response.status_code < 500, response.content[:300]
    if response.status_code == 200:
        body = response.json()
        assert len(body["results"]) == len(events)
        assert LedgerEntry.objects.count() == ledger_before + body["accepted"]
    else:
        assert_clean_rejection(response)
        assert LedgerEntry.objects.count() == ledger_before


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=120)


@FUZZ
@given(namespace=names, job=names, ds=names)
def test_any_unicode_name_is_stored_exactly_or_refused_cleanly(
    api: APIClient, namespace: str, job: str, ds: str
) -> None:
    event = run_event(namespace=namespace, job=job, inputs=[dataset(namespace=namespace, name=ds)], outputs=[])
    before = stored_counts()

    response = post(api, orjson.dumps(event))

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_clean_rejection(response)
        assert stored_counts() == before
    else:
        assert Job.objects.filter(namespace__name=namespace, name=job).exists()
        assert orjson.loads(LedgerEntry.objects.get(seq=response.json()["seq"]).payload) == event


# --- Authentication header attacks ------------------------------------------------------------------

AUTH_HEADERS = {
    "empty bearer": "Bearer ",
    "bearer of 100k characters": "Bearer " + "a" * 100_000,
    "bearer with spaces": "Bearer tm_a tm_b",
    "basic scheme": "Basic dXNlcjpwYXNz",
    "SQL in the key": "Bearer ' OR 1=1 --",
    "unicode key": "Bearer \u202e\U0001f600",
}


@pytest.mark.parametrize("header", AUTH_HEADERS.values(), ids=AUTH_HEADERS.keys())
def test_malformed_authorization_is_refused_with_401_or_403(producer_key: IssuedKey, header: str) -> None:
    client = APIClient(raise_request_exception=False)

    response = post(client, valid(), HTTP_AUTHORIZATION=header)

    assert_clean_rejection(response)
    assert response.status_code in (401, 403)
    assert LedgerEntry.objects.count() == 0
