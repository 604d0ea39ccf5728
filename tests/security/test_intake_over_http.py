"""Bad input against a real gunicorn: lying Content-Length, broken chunking, bombs — never a 5xx."""

from __future__ import annotations

import gzip
import socket

import orjson
import pytest
import requests

from lineage.models import LedgerEntry
from lineage.services import api_key_issue
from tests.factories import run_event
from tests.security.conftest import stored_counts
from tests.security.test_intake_attacks import MALFORMED, _bomb
from tests.servers import GunicornServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _raw(server: GunicornServer, data: bytes, *, half_close: bool = False, timeout: float = 15) -> list[int]:
    """Send raw bytes; the status code of every response the server wrote before closing."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return [int(line.split(b" ")[1]) for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def _request(key: str, body: bytes, *headers: str) -> bytes:
    head = [
        "POST /api/v1/lineage HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {key}",
        "Content-Type: application/json",
        "Connection: close",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
def key(gunicorn_server: GunicornServer) -> str:
    return api_key_issue(name="attacker").secret


RAW_CASES = {
    "Content-Length shorter than the body": lambda k, b: _request(k, b, f"Content-Length: {len(b) - 20}"),
    "negative Content-Length": lambda k, b: _request(k, b, "Content-Length: -5"),
    "non-numeric Content-Length": lambda k, b: _request(k, b, "Content-Length: twelve"),
    "Content-Length of a terabyte": lambda k, b: _request(k, b, "Content-Length: 1000000000000"),
    "two different Content-Lengths": lambda k, b: _request(k, b, f"Content-Length: {len(b)}", "Content-Length: 3"),
    "chunked with a bad chunk size": lambda k, b: _request(
        k, b"zz\r\n" + b + b"\r\n0\r\n\r\n", "Transfer-Encoding: chunked"
    ),
    "chunked and Content-Length": lambda k, b: _request(
        k, f"{len(b):x}\r\n".encode() + b + b"\r\n0\r\n\r\n", "Transfer-Encoding: chunked", f"Content-Length: {len(b)}"
    ),
    "header with a NUL byte": lambda k, b: _request(k, b, f"Content-Length: {len(b)}", "X-Evil: a\x00b"),
}


@pytest.mark.parametrize("build", RAW_CASES.values(), ids=RAW_CASES.keys())
def test_lying_framing_never_gets_a_server_error_and_stores_nothing(
    gunicorn_server: GunicornServer, key: str, build
) -> None:
    body = orjson.dumps(run_event())

    codes = _raw(gunicorn_server, build(key, body), half_close=True)

    assert all(code < 500 for code in codes), codes
    assert requests.get(f"{gunicorn_server.url}/healthz", timeout=10).status_code == 200
    assert LedgerEntry.objects.count() == 0


def test_body_shorter_than_its_content_length_is_treated_as_incomplete(
    gunicorn_server: GunicornServer, key: str
) -> None:
    body = orjson.dumps(run_event())

    codes = _raw(gunicorn_server, _request(key, body, f"Content-Length: {len(body) + 500}"), half_close=True)

    assert all(code < 500 for code in codes), codes
    assert LedgerEntry.objects.count() == 0


OVER_HTTP = [
    "100k nested arrays",
    "invalid UTF-8 byte",
    "lone high surrogate escape",
    "truncated mid-string",
    "NaN literal",
]


def test_malformed_bodies_over_http_get_clear_400s(gunicorn_server: GunicornServer, key: str) -> None:
    before = stored_counts()
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

        responses = [
            session.post(f"{gunicorn_server.url}/api/v1/lineage", data=MALFORMED[n], timeout=30) for n in OVER_HTTP
        ]

    assert [r.status_code for r in responses] == [400] * len(OVER_HTTP)
    assert all(r.json()["message"] for r in responses)
    assert stored_counts() == before


def test_gzip_bomb_over_http_is_refused_with_413(gunicorn_server: GunicornServer, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"}

    response = requests.post(f"{gunicorn_server.url}/api/v1/lineage", data=_bomb(1 << 30), headers=headers, timeout=60)

    assert response.status_code == 413
    assert LedgerEntry.objects.count() == 0


def test_valid_gzip_event_still_accepted_after_the_attacks(gunicorn_server: GunicornServer, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    for build in RAW_CASES.values():
        _raw(gunicorn_server, build(key, b"{}"), half_close=True)

    response = requests.post(
        f"{gunicorn_server.url}/api/v1/lineage",
        data=gzip.compress(orjson.dumps(run_event())),
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 201
    assert LedgerEntry.objects.count() == 1
