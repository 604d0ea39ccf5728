"""``lineage.bulk.bulk_insert``: a few rows travel as one JSON document, many as one array per column.

Both shapes must store exactly what the ORM would: these tests write the same values through each
and read them back with the ORM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lineage.bulk import JSON_ROWS_MAX, bulk_insert
from lineage.models import Dataset, Namespace

pytestmark = pytest.mark.django_db

SHAPES = {"json document": 3, "arrays": JSON_ROWS_MAX + 5}
AWARE = datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
FACETS: list[Any] = [
    {},
    {"schema": {"fields": [{"name": "naïve ✓", "type": None}], "nested": {"deep": [1, 2.5, True, None]}}},
    {"quote": 'a "b" \\ c', "newline": "x\ny", "emoji": "🙂", "big": 2**62},
]


def _namespace() -> Namespace:
    return Namespace.objects.create(name="postgres://db:5432", first_seq=1, created_at=datetime(2026, 1, 1, tzinfo=UTC))


def _rows(namespace: Namespace, count: int) -> list[dict[str, Any]]:
    return [
        {
            "namespace_id": namespace.pk,
            "name": f"schema.table_{i} 'quoted'",
            "first_seq": i + 1,
            "created_at": AWARE + timedelta(seconds=i),
            "updated_at": datetime(2026, 1, 1, 12, tzinfo=UTC),
            "last_seq": 2**40 + i,
            "dataset_type": "DATASET",
            "current_version_id": None,
            "facets": FACETS[i % len(FACETS)],
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("count", SHAPES.values(), ids=SHAPES.keys())
def test_rows_read_back_exactly_as_written(count: int) -> None:
    namespace = _namespace()
    rows = _rows(namespace, count)

    returned = bulk_insert(Dataset, rows, returning=["id", "name"])

    stored = {d.name: d for d in Dataset.objects.all()}
    assert sorted(name for _pk, name in returned) == sorted(stored)
    assert {pk for pk, _name in returned} == {d.pk for d in stored.values()}
    for row in rows:
        got = stored[row["name"]]
        assert got.created_at == row["created_at"]
        assert got.updated_at == row["updated_at"]
        assert (got.first_seq, got.last_seq, got.dataset_type) == (row["first_seq"], row["last_seq"], "DATASET")
        assert got.current_version_id is None
        assert got.facets == row["facets"]


@pytest.mark.parametrize("count", SHAPES.values(), ids=SHAPES.keys())
def test_an_upsert_updates_only_the_named_columns(count: int) -> None:
    namespace = _namespace()
    rows = _rows(namespace, count)
    bulk_insert(Dataset, rows)
    ids = dict(Dataset.objects.values_list("name", "id"))
    changed = [
        row
        | {"id": ids[row["name"]], "last_seq": row["last_seq"] + 1, "facets": {"changed": [None, row["name"]]}}
        | {"created_at": AWARE - timedelta(days=1)}
        for row in rows
    ]

    bulk_insert(Dataset, changed, conflict=["id"], update=["last_seq", "facets"])

    for row in rows:
        got = Dataset.objects.get(name=row["name"])
        assert got.last_seq == row["last_seq"] + 1
        assert got.facets == {"changed": [None, row["name"]]}
        assert got.created_at == row["created_at"]  # not named: kept


def test_a_conflict_without_update_keeps_the_first_row() -> None:
    bulk_insert(Namespace, [{"name": "s3://lake", "first_seq": 1, "created_at": AWARE}])

    bulk_insert(
        Namespace,
        [
            {"name": "s3://lake", "first_seq": 9, "created_at": AWARE},
            {"name": "s3://other", "first_seq": 9, "created_at": AWARE},
        ],
        conflict=["name"],
    )

    assert dict(Namespace.objects.values_list("name", "first_seq")) == {"s3://lake": 1, "s3://other": 9}
