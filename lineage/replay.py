"""Stream OpenLineage events out of files: JSON, JSON arrays, NDJSON, concatenated JSON, gzip.

Memory stays bounded by the largest single event, whatever the file size.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

CHUNK = 1 << 20
MAX_EVENT_BYTES = 64 << 20
SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz", ".gz")


@dataclass(frozen=True)
class Located:
    """An event, or a parse error, with where it came from (``file:line`` or ``file[index]``)."""

    where: str
    event: Any = None
    error: str | None = None


def expand_paths(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{raw}: no such file or folder")
    return files


class CountingReader:
    """Wraps a binary file and counts the bytes read from it (for the progress bar)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.raw.readline(size)
        self.count += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def open_events(path: Path, counter: CountingReader) -> IO[bytes]:
    head = counter.raw.peek(2)[:2] if hasattr(counter.raw, "peek") else b""
    if path.suffix == ".gz" or head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=counter, mode="rb")  # type: ignore[arg-type]
    return counter  # type: ignore[return-value]


def iter_events(path: Path, stream: IO[bytes]) -> Iterator[Located]:
    first = b""
    while True:
        line = stream.readline()
        if not line:
            return
        if line.strip():
            first = line
            break
    if first.lstrip()[:1] == b"[":
        yield from _iter_concatenated(path, first, stream, array=True)
        return
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        yield from _iter_concatenated(path, first, stream, array=False)
        return
    yield from _iter_ndjson(path, value, stream)


def _iter_ndjson(path: Path, first_value: Any, stream: IO[bytes]) -> Iterator[Located]:
    number = 1
    yield Located(f"{path}:{number}", event=first_value)
    for line in stream:
        number += 1
        if not line.strip():
            continue
        try:
            yield Located(f"{path}:{number}", event=orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield Located(f"{path}:{number}", error=f"not valid JSON: {exc}")


def _iter_concatenated(path: Path, start: bytes, stream: IO[bytes], *, array: bool) -> Iterator[Located]:
    """Pretty-printed objects, concatenated values or one top-level array, decoded incrementally."""
    decoder = json.JSONDecoder()
    buf = start.decode("utf-8", errors="replace")
    pos, index, eof, opened = 0, 0, False, not array

    def refill() -> bool:
        nonlocal buf, pos
        chunk = stream.read(CHUNK)
        if not chunk:
            return False
        buf = buf[pos:] + chunk.decode("utf-8", errors="replace")
        pos = 0
        return True

    while True:
        while pos < len(buf) and (buf[pos].isspace() or (array and buf[pos] in ",[]")):
            if array and buf[pos] == "[":
                if opened:
                    break
                opened = True
            pos += 1
        if pos >= len(buf):
            if eof or not refill():
                return
            continue
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not eof and len(buf) - pos < MAX_EVENT_BYTES and refill():
                continue
            eof = True
            yield Located(f"{path}[{index}]", error=f"not valid JSON: {exc.msg} at char {exc.pos}")
            return
        if end == len(buf) and not eof and refill():
            # The value may continue in the next chunk (e.g. a number cut in half); decode again.
            continue
        yield Located(f"{path}[{index}]", event=value)
        index += 1
        pos = end
