"""Bulk inserts that stay fast on PostgreSQL for wide rows (ledger payloads, facets).

Django's ``bulk_create`` on PostgreSQL sends each column as an array literal that psycopg quotes in
Python, character by character; for kilobytes of JSON per row that quoting costs more than the
database's own work. ``bulk_insert`` sends binary arrays through a server-side-binding cursor, or,
for a few rows, the rows as one JSON document.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import Field, ForeignKey, Model

# Up to this many rows travel as one JSON document (``jsonb_to_recordset``) rather than one array
# per column. Measured on PostgreSQL 15 (7 columns, one of them jsonb): for one row, arrays cost
# 69 µs of client CPU and JSON 38 µs, the server the same 60 µs; at 10 rows 9 against 3 µs per row,
# the server the same; at 500 rows JSON saves 1.5 µs per row on the client but costs the server
# 3.5 µs more. psycopg dumps each array in Python (finding the element type, then each element),
# while orjson writes the whole document in C. A fold of a few events sends ~20 such statements.
JSON_ROWS_MAX = 64


def bulk_insert(
    model: type[Model],
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert rows (dicts keyed by attribute name) in one statement; upsert or skip on ``conflict``.

    On PostgreSQL the rows travel through a server-side-binding cursor, as one binary array per
    column (``INSERT … SELECT FROM unnest``), or up to ``JSON_ROWS_MAX`` rows as one JSON document:
    the ORM's client-side quoting of large batches costs several times the database's own work.
    Elsewhere this is ``bulk_create``.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        model._default_manager.bulk_create(
            objs,
            update_conflicts=bool(update),
            ignore_conflicts=bool(conflict) and not update,
            unique_fields=[model._meta.get_field(name).name for name in conflict] if update else None,
            update_fields=[model._meta.get_field(name).name for name in update] if update else None,
        )
        return [tuple(getattr(obj, name) for name in returning) for obj in objs] if returning else []
    names = tuple(rows[0])
    if len(rows) <= JSON_ROWS_MAX:
        try:
            document = orjson.dumps(rows)
        except (orjson.JSONEncodeError, TypeError):
            pass  # a value orjson cannot write (e.g. a Decimal): psycopg's dumpers know it
        else:
            sql = _insert_json_sql(model, names, tuple(conflict), tuple(update), tuple(returning))
            with server_binding_cursor() as cursor:
                cursor.execute(sql, [document.decode()])
                return [tuple(row) for row in cursor.fetchall()] if returning else []
    sql, json_columns = _insert_sql(model, names, tuple(conflict), tuple(update), tuple(returning))
    params = []
    for name in names:
        values = [row[name] for row in rows]
        if name in json_columns:
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        params.append(values)
    with server_binding_cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if returning else []


def server_binding_cursor() -> Any:
    """A cursor on the default PostgreSQL connection that sends parameters apart from the SQL.

    Django's cursors merge parameters into the SQL text on the client. With server-side binding the
    text of a statement stays the same from one run to the next, so psycopg prepares it once it has
    run ``DB_PREPARE_THRESHOLD`` times on a connection, and PostgreSQL stops planning it again: for
    the fold's small reads, planning cost more than running them.
    """
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
        loader = _compiled_timestamptz_loader()
        if loader is not None and connection.timezone is datetime.UTC:
            cursor.adapters.register_loader("timestamptz", loader)
        return connection._prepare_cursor(cursor)  # type: ignore[attr-defined]


@functools.cache
def _compiled_timestamptz_loader() -> type | None:
    """psycopg's compiled text loader for ``timestamptz``, or None where psycopg runs without it.

    Django registers a pure-Python loader on every connection (it parses the text, then sets the
    connection's time zone). In UTC, Django's default, psycopg's compiled loader returns the same
    aware datetimes (``datetime.UTC``, from the session's ``TimeZone``) several times faster; the
    fold reads a few timestamps per row of every batch, and parsing them was ~8 % of its time.
    """
    import psycopg
    from psycopg.pq import Format

    loader = psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)
    return None if loader is None or loader.__module__.startswith("psycopg.") else loader


@functools.cache
def _insert_json_sql(
    model: type[Model],
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> str:
    """The statement for one shape of insert whose rows come as one JSON array of objects.

    The objects' keys are the attribute names; ``jsonb_to_recordset`` reads each key as the column's
    type (a JSON null is SQL NULL, a jsonb column takes the nested value as it is).
    """
    definitions = ", ".join(f"{connection.ops.quote_name(name)} {_db_type(model, name)}" for name in names)
    selects = ", ".join(f"r.{connection.ops.quote_name(name)}" for name in names)
    return _insert_into(
        model, names, selects, f"jsonb_to_recordset(%s::jsonb) AS r({definitions})", conflict, update, returning
    )


def _db_type(model: type[Model], name: str) -> str:
    fld = concrete_field(model, name)
    target = fld.target_field if isinstance(fld, ForeignKey) else fld
    return str(target.db_type(connection)).split("(")[0]


@functools.cache
def _insert_sql(
    model: type[Model],
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> tuple[str, frozenset[str]]:
    """The statement for one shape of insert, built once per process (the fold sends the same few)."""
    casts, selects, json_columns = [], [], set()
    for i, name in enumerate(names):
        db_type = _db_type(model, name)
        if db_type == "jsonb":
            json_columns.add(name)
            casts.append("%b::text[]")
            selects.append(f"u.c{i}::jsonb")
        else:
            casts.append(f"%b::{db_type}[]")
            selects.append(f"u.c{i}")

    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    source = f"unnest({', '.join(casts)}) AS u({aliases})"
    sql = _insert_into(model, names, ", ".join(selects), source, conflict, update, returning)
    return sql, frozenset(json_columns)


def _insert_into(
    model: type[Model],
    names: tuple[str, ...],
    selects: str,
    source: str,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: tuple[str, ...],
) -> str:
    def column(name: str) -> str:
        return connection.ops.quote_name(str(concrete_field(model, name).column))

    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(column(n) for n in names)
    # Identifiers come from model metadata; every value is a bound parameter.
    sql = f"INSERT INTO {table} ({columns}) SELECT {selects} FROM {source}"  # noqa: S608
    if conflict:
        arbiter = ", ".join(column(n) for n in conflict)
        if update:
            sets = ", ".join(f"{column(n)} = EXCLUDED.{column(n)}" for n in update)
            sql += f" ON CONFLICT ({arbiter}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({arbiter}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(column(n) for n in returning)}"
    return sql


def concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, Field)
    return found
