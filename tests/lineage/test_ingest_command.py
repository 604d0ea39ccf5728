from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lineage.models import LedgerEntry
from tests.factories import run_event

pytestmark = pytest.mark.django_db


def ingest(*paths: Path, options: tuple[str, ...] = ()) -> str:
    from io import StringIO

    out = StringIO()
    call_command("ingest", *map(str, paths), "--no-progress", *options, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_pretty_printed_single_event_file_is_ingested(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(run_event(), indent=2))

    out = ingest(path)

    assert "1 accepted" in out
    assert LedgerEntry.objects.count() == 1


def test_json_array_file_is_ingested_event_by_event(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([run_event() for _ in range(3)], indent=1))

    out = ingest(path)

    assert "3 accepted" in out


def test_gzipped_ndjson_file_is_ingested(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(run_event()) for _ in range(5))))

    out = ingest(path)

    assert "5 accepted" in out


def test_folder_is_walked_and_reingesting_reports_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.json").write_text(json.dumps(run_event()))
    (tmp_path / "two.jsonl").write_text("\n".join(json.dumps(run_event()) for _ in range(2)))
    ingest(tmp_path)

    out = ingest(tmp_path)

    assert "0 accepted, 3 duplicate, 0 invalid" in out


def test_invalid_events_are_listed_with_location_and_exit_is_non_zero(tmp_path: Path) -> None:
    bad = run_event()
    del bad["run"]["runId"]
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join([json.dumps(run_event()), json.dumps(bad), "{oops"]))

    with pytest.raises(CommandError, match="2 invalid"):
        ingest(path)

    assert LedgerEntry.objects.count() == 1


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        ingest(tmp_path / "nope.json")


@pytest.mark.parametrize("processes", ["0", "2"])
def test_batches_are_stored_in_file_order_whoever_validates_them(tmp_path: Path, processes: str) -> None:
    events = [run_event(job=f"etl.step{i}") for i in range(130)]
    for i in (7, 64, 129):
        del events[i]["job"]["name"]  # invalid ones in several batches
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))

    with pytest.raises(CommandError, match="3 invalid"):
        ingest(path, options=("--batch-size", "10", "--prepare-processes", processes))

    stored = [
        orjson.loads(p)["job"]["name"] for p in LedgerEntry.objects.order_by("seq").values_list("payload", flat=True)
    ]
    assert stored == [e["job"]["name"] for i, e in enumerate(events) if i not in (7, 64, 129)]
