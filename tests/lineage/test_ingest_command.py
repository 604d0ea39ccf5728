from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lineage.models import LedgerEntry
from tests.factories import dataset, run_event

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


# --- On PostgreSQL, a second process folds each batch while the next one is appended --------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", ["0", "1"])
def test_the_graph_folded_behind_the_appends_is_the_graph_the_ledger_gives(tmp_path: Path, processes: str) -> None:
    from lineage.folding import graph_replay
    from lineage.graph import graph_facts
    from lineage.models import GraphHead, LedgerHead
    from tests.lineage.test_fold_replay import graph_clear

    events = [
        run_event(
            job=f"etl.step{i % 7}", event_type=("START", "COMPLETE")[i % 2], inputs=[dataset(name=f"raw/{i % 5}")]
        )
        for i in range(120)
    ]
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))

    out = ingest(path, options=("--batch-size", "7", "--prepare-processes", processes))

    assert "120 accepted" in out
    assert GraphHead.objects.get().seq == LedgerHead.objects.get().seq == 120
    folded = graph_facts()
    graph_clear()
    graph_replay(batch_size=1)
    assert graph_facts() == folded


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_fold_ends_the_command_and_leaves_the_appended_events_to_the_next_fold(tmp_path: Path) -> None:
    import psycopg
    from django.db import connection

    from lineage.models import GraphHead, LedgerHead
    from lineage.services import graph_catch_up
    from tests.conftest import _database_url_of_test_db

    graph_catch_up()  # the graph head row exists
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(run_event(job=f"etl.step{i}")) for i in range(40)))
    database = connection.settings_dict["NAME"]
    url = _database_url_of_test_db()
    with psycopg.connect(url) as other, psycopg.connect(url, autocommit=True) as admin:
        # Another writer holds the graph head; new connections (the fold process's) give up after 300 ms.
        other.execute("SELECT seq FROM lineage_graphhead FOR UPDATE")
        admin.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '300ms'")
        try:
            with pytest.raises(CommandError, match=r"folding into the graph failed: .*lock timeout"):
                ingest(path, options=("--batch-size", "10"))
        finally:
            admin.execute(f'ALTER DATABASE "{database}" RESET lock_timeout')
        other.rollback()

    appended = LedgerHead.objects.get().seq
    assert 10 <= appended <= 40  # the appends stopped soon after the fold failed
    assert GraphHead.objects.get().seq == 0
    assert graph_catch_up().head == appended
