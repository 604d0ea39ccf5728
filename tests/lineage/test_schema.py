"""The graph's tables as migrations leave them: the indexes the models declare, and one for each key."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db


def _partial_indexes(cursor) -> set[str]:
    # A partial index (``... WHERE valid_to_seq IS NULL``) serves only the rows it holds.
    if connection.vendor == "postgresql":
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indpred IS NOT NULL")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")
    return {name.strip('"') for (name,) in cursor.fetchall()}


@pytest.mark.parametrize("model", list(apps.get_app_config("lineage").get_models()), ids=lambda m: m._meta.db_table)
def test_declared_constraints_exist_and_every_foreign_key_leads_a_full_index(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        partial = _partial_indexes(cursor)
        found = connection.introspection.get_constraints(cursor, table)

    declared = {c.name for c in [*model._meta.constraints, *model._meta.indexes]}
    assert declared <= set(found), f"{table}: declared but missing in the database: {sorted(declared - set(found))}"
    leading = {
        c["columns"][0]
        for name, c in found.items()
        if c["columns"] and (c["index"] or c["unique"] or c["primary_key"]) and name not in partial
    }
    for field in model._meta.concrete_fields:
        if field.is_relation and field.db_constraint:
            assert field.column in leading, f"{table}.{field.column}: no index starts with it"
