"""A lean HTTP/1.1 load generator: client processes, keep-alive sockets, pre-built requests.

The clients share the 2 cores with the server, so each request costs them as little as possible:
bodies are serialised before the clock starts, a request is one ``sendall`` and the response is
read with a minimal parser. A server that answers ``Connection: close`` (gunicorn's sync worker)
gets a new connection per request, as any client would.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import socket
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from bench.harness import percentile
from bench.olgen import RUN_ID_TOKEN, World, templates

_CTX = mp.get_context("fork")
_TOKEN = RUN_ID_TOKEN.encode()
_MAX_ERRORS = 1000


class _Connection:
    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.sock: socket.socket | None = None
        self.buf = bytearray(1 << 16)
        self.view = memoryview(self.buf)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one request; (status, body). Reconnects when the server closed the connection."""
        if self.sock is None:
            self.sock = self._connect()
        self.sock.sendall(data)
        received = 0
        head_end = -1
        while head_end < 0:
            n = self.sock.recv_into(self.view[received:])
            if n == 0:
                self.close()
                raise ConnectionError("server closed the connection")
            received += n
            head_end = self.buf.find(b"\r\n\r\n", 0, received)
            if received == len(self.buf):
                self.buf.extend(bytes(len(self.buf)))
                self.view = memoryview(self.buf)
        head = bytes(self.buf[:head_end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length, close = 0, False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = bytearray(self.buf[head_end + 4 : received])
        while len(body) < length:
            chunk = self.sock.recv(length - len(body))
            if not chunk:
                self.close()
                raise ConnectionError("server closed the connection mid-body")
            body += chunk
        if close:
            self.close()
        return status, bytes(body)


def _head(method: str, path: str, port: int, token: str | None, content_type: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode()


# --- Single events: closed loop for a fixed time ---------------------------------------------------


@dataclass(frozen=True)
class SingleSpec:
    port: int
    path: str
    token: str | None
    clients: int = 8
    duration: float = 20.0
    warmup: float = 3.0
    max_requests: int = 1_000_000
    templates_per_client: int = 400
    timeout: float = 60.0


@dataclass
class SingleResult:
    path: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: Counter[int]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies, 0.50)

    @property
    def p95(self) -> float | None:
        return percentile(self.latencies, 0.95)

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "clients": self.clients,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "p50_ms": None if self.p50 is None else round(self.p50 * 1000, 2),
            "p95_ms": None if self.p95 is None else round(self.p95 * 1000, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors,
        }


def _single_client(
    index: int, spec: SingleSpec, world: World, nonce: int, ready: object, go: object, pipe: object
) -> None:
    pairs = templates(world, spec.templates_per_client, stream=index + 1)
    head = _head("POST", spec.path, spec.port, spec.token, "application/json")
    conn = _Connection(spec.port, spec.timeout)
    cap = -(-spec.max_requests // spec.clients)
    latencies = array("d")
    statuses: Counter[int] = Counter()
    errors = 0
    counter = 0
    last = 0.0
    ready.set()  # type: ignore[attr-defined]
    go.wait()  # type: ignore[attr-defined]
    go_at, end_at = go.value  # type: ignore[attr-defined]
    while len(latencies) < cap and errors < _MAX_ERRORS:
        start, end = pairs[counter % len(pairs)]
        counter += 1
        run_id = f"{nonce:08x}-{index:04x}-4000-8000-{counter:012x}".encode()
        for template in (start, end):
            body = template.replace(_TOKEN, run_id)
            data = head + str(len(body)).encode() + b"\r\n\r\n" + body
            t0 = time.monotonic()
            if t0 >= end_at:
                break
            try:
                status, _ = conn.request(data)
            except OSError:
                errors += 1
                conn.close()
                continue
            t1 = time.monotonic()
            if go_at <= t1 <= end_at:
                latencies.append(t1 - t0)
                statuses[status] += 1
                last = t1
        if time.monotonic() >= end_at:
            break
    conn.close()
    pipe.send((latencies.tobytes(), dict(statuses), errors, last - go_at))  # type: ignore[attr-defined]


class _Go:
    """A start signal that also carries the measurement window."""

    def __init__(self) -> None:
        self.event = _CTX.Event()
        self.window = _CTX.Array("d", 2)

    def set(self, go_at: float, end_at: float) -> None:
        self.window[0], self.window[1] = go_at, end_at
        self.event.set()

    def wait(self) -> None:
        self.event.wait()

    @property
    def value(self) -> tuple[float, float]:
        return self.window[0], self.window[1]


def run_single(spec: SingleSpec, world: World) -> SingleResult:
    """Closed-loop single-event POSTs from ``spec.clients`` processes; figures over the window."""
    nonce = random.SystemRandom().getrandbits(32)
    go = _Go()
    procs, pipes, readies = [], [], []
    for index in range(spec.clients):
        ready = _CTX.Event()
        parent_end, child_end = _CTX.Pipe(duplex=False)
        proc = _CTX.Process(target=_single_client, args=(index, spec, world, nonce, ready, go, child_end), daemon=True)
        proc.start()
        child_end.close()
        procs.append(proc)
        pipes.append(parent_end)
        readies.append(ready)
    for ready in readies:
        if not ready.wait(120):
            raise TimeoutError("a load client did not get ready")
    now = time.monotonic()
    go.set(now + spec.warmup, now + spec.warmup + spec.duration)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors, longest = 0, 0.0
    deadline = now + spec.warmup + spec.duration + spec.timeout + 30
    for pipe in pipes:
        if not pipe.poll(max(1.0, deadline - time.monotonic())):
            raise TimeoutError("a load client did not report")
        raw, codes, errs, seconds = pipe.recv()
        values = array("d")
        values.frombytes(raw)
        latencies.extend(values)
        statuses.update(codes)
        errors += errs
        longest = max(longest, seconds)
    for proc in procs:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    latencies.sort()
    return SingleResult(
        path=spec.path,
        clients=spec.clients,
        requests=len(latencies),
        seconds=longest,
        latencies=latencies,
        statuses=statuses,
        errors=errors,
    )


# --- Batches: every chunk once, as fast as the server takes them ------------------------------------


@dataclass
class BatchResult:
    events: int
    requests: int
    seconds: float
    counts: Counter[str]
    statuses: Counter[int]
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "results": dict(self.counts),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_request_ms": round((percentile(self.latencies, 0.5) or 0) * 1000, 1),
        }


def _batch_client(
    index: int,
    clients: int,
    port: int,
    token: str,
    load: Callable[[], Sequence[bytes]],
    timeout: float,
    ready: object,
    go: object,
    pipe: object,
) -> None:
    head = _head("POST", "/api/v1/lineage/batch", port, token, "application/x-ndjson")
    mine = [body for n, body in enumerate(load()) if n % clients == index]
    requests = [head + str(len(body)).encode() + b"\r\n\r\n" + body for body in mine]
    del mine
    conn = _Connection(port, timeout)
    counts: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    latencies = array("d")
    ready.set()  # type: ignore[attr-defined]
    go.wait()  # type: ignore[attr-defined]
    go_at, end_at = go.value  # type: ignore[attr-defined]
    for data in requests:
        if time.monotonic() >= end_at:
            break
        t0 = time.monotonic()
        status, body = conn.request(data)
        latencies.append(time.monotonic() - t0)
        statuses[status] += 1
        if status == 200:
            reply = orjson.loads(body)
            for key in ("accepted", "duplicate", "invalid"):
                counts[key] += reply[key]
    conn.close()
    pipe.send((dict(counts), dict(statuses), latencies.tobytes(), time.monotonic() - go_at))  # type: ignore[attr-defined]


def run_batches(
    port: int,
    token: str,
    load: Callable[[], Sequence[bytes]],
    *,
    events: int,
    clients: int = 2,
    timeout: float = 1800.0,
) -> BatchResult:
    """POST every body ``load()`` returns (NDJSON batches), spread over ``clients`` processes."""
    go = _Go()
    procs, pipes, readies = [], [], []
    for index in range(clients):
        ready = _CTX.Event()
        parent_end, child_end = _CTX.Pipe(duplex=False)
        proc = _CTX.Process(
            target=_batch_client,
            args=(index, clients, port, token, load, timeout, ready, go, child_end),
            daemon=True,
        )
        proc.start()
        child_end.close()
        procs.append(proc)
        pipes.append(parent_end)
        readies.append(ready)
    for ready in readies:
        if not ready.wait(600):
            raise TimeoutError("a batch client did not get ready")
    now = time.monotonic()
    go.set(now, now + timeout)
    counts: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    longest = 0.0
    for pipe in pipes:
        if not pipe.poll(timeout + 60):
            raise TimeoutError("a batch client did not report")
        got, codes, raw, seconds = pipe.recv()
        counts.update(got)
        statuses.update(codes)
        values = array("d")
        values.frombytes(raw)
        latencies.extend(values)
        longest = max(longest, seconds)
    for proc in procs:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    latencies.sort()
    return BatchResult(
        events=events,
        requests=sum(statuses.values()),
        seconds=longest,
        counts=counts,
        statuses=statuses,
        latencies=latencies,
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User+system CPU seconds used so far by ``pids`` (gunicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / tick
