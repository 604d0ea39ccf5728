"""The fold's reads compiled once (lineage.prepared): the same rows as the ORM, on both databases."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection

from lineage.models import Dataset, Run, RunDataset
from lineage.prepared import PreparedRows
from lineage.services import events_ingest
from tests.factories import dataset, run_event

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "namespace__name", "name", "created_at", "facets", "current_version__version")


def _graph() -> None:
    events_ingest(
        events=[
            run_event(
                job=f"etl.step{i}",
                inputs=[dataset(name=f"raw/{i}")],
                outputs=[dataset("postgres://db:5432", f"clean.t{i}")],
            )
            for i in range(4)
        ]
    )


def test_any_finds_what_in_finds_for_text_integers_uuids_and_foreign_keys() -> None:
    _graph()
    names = ["raw/1", "clean.t2", "no such dataset"]
    ids = list(Dataset.objects.values_list("id", flat=True)[:3])
    run_ids = list(Run.objects.values_list("run_id", flat=True)[:2])

    assert set(Dataset.objects.filter(name__any=names).values_list("name", flat=True)) == {"raw/1", "clean.t2"}
    assert set(Dataset.objects.filter(id__any=ids).values_list("id", flat=True)) == set(ids)
    assert set(Run.objects.filter(run_id__any=run_ids).values_list("run_id", flat=True)) == set(run_ids)
    assert set(RunDataset.objects.filter(dataset_id__any=ids).values_list("pk", flat=True)) == set(
        RunDataset.objects.filter(dataset_id__in=ids).values_list("pk", flat=True)
    )
    assert not Dataset.objects.filter(name__any=[]).exists()


def test_prepared_rows_are_the_rows_values_list_returns_whatever_the_values() -> None:
    _graph()
    by_ids = PreparedRows(lambda ids: Dataset.objects.filter(id__any=ids).values_list(*COLUMNS), 1)
    ids = sorted(Dataset.objects.values_list("id", flat=True))

    everything = sorted(by_ids(ids))
    one = by_ids(ids[:1])  # the same compiled statement, other values

    assert everything == sorted(Dataset.objects.filter(id__in=ids).values_list(*COLUMNS))
    assert one == list(Dataset.objects.filter(id__in=ids[:1]).values_list(*COLUMNS))
    assert by_ids([]) == []
    assert everything[0][3].tzinfo is datetime.UTC  # converted like the ORM: aware datetimes, parsed JSON
    assert isinstance(everything[0][4], dict)


@pytest.mark.parametrize(
    "facets",
    [
        {"schema": {"fields": [{"name": "naïve 🙂", "type": None}]}, "n": [1, 2.5, -0.0, True]},
        {"beyond 64 bits": 10**30, "tiny": 5e-324},  # orjson would read the first as a float
        "a string",
        [],
    ],
)
def test_json_columns_read_as_the_orm_reads_them(facets: object) -> None:
    _graph()
    target = Dataset.objects.order_by("id").first()
    assert target is not None
    Dataset.objects.filter(pk=target.pk).update(facets=facets)
    by_ids = PreparedRows(lambda ids: Dataset.objects.filter(id__any=ids).values_list("facets"), 1)

    assert by_ids([target.pk]) == [(facets,)]
    assert by_ids([target.pk]) == list(Dataset.objects.filter(pk=target.pk).values_list("facets"))


def test_prepared_rows_put_each_argument_in_its_place() -> None:
    _graph()
    by_name = PreparedRows(
        lambda ns, names: Dataset.objects.filter(namespace__name__any=ns, name__any=names).values_list("name"), 2
    )

    assert sorted(by_name(["s3://bucket"], ["raw/0", "raw/3", "clean.t0"])) == [("raw/0",), ("raw/3",)]
    assert by_name(["postgres://db:5432"], ["raw/0"]) == []
    with pytest.raises(TypeError):
        by_name(["s3://bucket"])


@pytest.mark.django_db(transaction=True)
def test_each_thread_runs_the_query_on_its_own_connection() -> None:
    _graph()
    by_ids = PreparedRows(lambda ids: Dataset.objects.filter(id__any=ids).values_list("name"), 1)
    ids = list(Dataset.objects.values_list("id", flat=True))
    seen: list[list[tuple[str]]] = []

    def other_thread() -> None:
        from django.db import connection as thread_connection

        try:
            seen.append(sorted(by_ids(ids)))
        finally:
            thread_connection.close()

    main = sorted(by_ids(ids))
    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()

    assert seen == [main]
    assert len(main) == len(ids)


@pytest.mark.postgres
def test_on_postgresql_the_folds_reads_are_prepared_with_generic_plans() -> None:
    for i in range(8):  # psycopg prepares a statement on its sixth run (DB_PREPARE_THRESHOLD=5)
        events_ingest(events=[run_event(job=f"etl.step{i}")])

    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        (mode,) = cursor.fetchone()
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert mode == "force_generic_plan"
    assert any('FROM "lineage_dataset"' in sql and "= ANY(" in sql for sql in prepared)
    assert any(sql.startswith('INSERT INTO "lineage_ledgerentry"') for sql in prepared)
