"""The shared OpenLineage corpus (../shared/openlineage-corpus), read by tests when present.

A user's fresh clone has no ../shared: tests built on it skip cleanly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT_ROOT.parent / "shared" / "openlineage-corpus"
CORPUS_ABSENT = "OpenLineage corpus not found at ../shared/openlineage-corpus"
COMPLETE_CLASSES = {"REAL", "HAND-WRITTEN"}


def load_events(path: Path) -> list[object]:
    """A corpus file holds one event, a JSON array of events, or NDJSON."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


def corpus_table() -> list[tuple[str, str, dict[str, int]]]:
    """Rows of the corpus README table: (file, class, event kinds with their counts)."""
    rows = []
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].endswith(".json"):
            continue
        file, klass, events, _source = cells
        kinds = {k: int(n) for k, n in re.findall(r"\b(RunEvent|DatasetEvent|JobEvent):(\d+)", events)}
        rows.append((file, klass, kinds))
    return rows


def corpus_params(select: Any) -> list[Any]:
    """pytest params for the selected corpus files, or one skipped param when the corpus is absent."""
    if not (CORPUS / "README.md").is_file():
        return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason=CORPUS_ABSENT))]
    return [pytest.param(value, id=name) for name, value in select()]


def complete_corpus_files() -> Iterator[tuple[str, tuple[str, dict[str, int]]]]:
    for file, klass, kinds in corpus_table():
        if klass in COMPLETE_CLASSES:
            yield file, (file, kinds)


def invalid_corpus_files() -> Iterator[tuple[str, str]]:
    for path in sorted((CORPUS / "spec" / "proxy-fluentd" / "invalid").glob("*.json")):
        yield path.name, path.name


def facet_example_files() -> Iterator[tuple[str, str]]:
    for path in sorted((CORPUS / "spec" / "facet-examples").glob("*/*.json")):
        rel = path.relative_to(CORPUS / "spec" / "facet-examples").as_posix()
        yield rel, rel
