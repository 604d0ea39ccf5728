"""Read queries the fold runs on every batch, compiled once per connection instead of every time.

A single-event fold runs about ten small reads. Building, compiling and iterating each through the
ORM cost about four times what the same SQL took to run and fetch with a bare cursor (1.55 ms
against 0.37 ms, measured on PostgreSQL; building and compiling alone 0.65 ms), so a fold of one
event was mostly query construction.

``PreparedRows`` holds a ``values_list`` query written with the ORM, whose varying values are
sets passed to the ``__any`` lookup. The lookup's SQL does not depend on how many values there are
(``= ANY(%s)`` on PostgreSQL, ``IN (SELECT value FROM json_each(%s))`` on SQLite), so the query is
compiled once per connection and then run with new values; rows go through the same converters as
the ORM's (datetimes, JSON, UUIDs), so callers get what ``values_list`` would have returned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, ForeignObject, JSONField, Lookup, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from lineage.bulk import server_binding_cursor
from lineage.canonical import has_long_digit_run


@dataclass(frozen=True)
class Slot:
    """Where the n-th argument of a prepared query goes (its values are unknown when compiling)."""

    index: int


def _array_param(field: Field, values: Iterable[Any], conn: Any) -> Any:
    prepped = [field.get_db_prep_value(v, conn, prepared=False) for v in values]
    if conn.vendor == "postgresql":
        return prepped
    return orjson.dumps(prepped, default=str).decode()


class AnyOf(Lookup):
    """``field__any=values``: the field equals one of the values; one parameter, however many.

    Unlike ``__in``, the SQL stays the same for any number of values, so a query can be compiled
    once (``PreparedRows``). Values are prepared by the field, as ``__in`` does.
    """

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def as_sql(self, compiler: SQLCompiler, conn: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, conn)
        field = self.lhs.output_field
        value = self.rhs if isinstance(self.rhs, Slot) else _array_param(field, self.rhs, conn)
        if isinstance(value, Slot):
            value = _SlotParam(value.index, field)
        if conn.vendor == "postgresql":
            return f"{lhs} = ANY(%s::{field.db_type(conn)}[])", [*lhs_params, value]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, value]  # noqa: S608 (no input in it)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # related fields look up only their own registrations


@dataclass(frozen=True)
class _SlotParam:
    index: int
    field: Field


@dataclass
class _Compiled:
    sql: str
    params: list[Any]
    converters: dict[int, Any]
    compiler: SQLCompiler


class PreparedRows:
    """A ``values_list`` query built by ``build(*slots)``, compiled once per database connection.

    ``build`` receives one ``Slot`` per argument and must use each only as ``field__any=slot``.
    Calling the instance with collections of values runs the query and returns the rows, as tuples
    converted exactly as ``values_list`` converts them.
    """

    def __init__(self, build: Callable[..., QuerySet], arity: int) -> None:
        self._build = build
        self._arity = arity
        self._local = threading.local()  # Django's connections are per thread

    def __call__(self, *values: Collection[Any]) -> list[tuple[Any, ...]]:
        if len(values) != self._arity:
            raise TypeError(f"expected {self._arity} collections of values, got {len(values)}")
        conn = connections[DEFAULT_DB_ALIAS]
        compiled = self._compiled(conn)
        params = [
            _array_param(p.field, values[p.index], conn) if isinstance(p, _SlotParam) else p for p in compiled.params
        ]
        with server_binding_cursor() if conn.vendor == "postgresql" else conn.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters and rows:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return [tuple(row) for row in rows]

    def _compiled(self, conn: Any) -> _Compiled:
        cached = getattr(self._local, "compiled", None)
        if cached is not None and cached[0] is conn:
            return cached[1]
        conn.ensure_connection()
        queryset = self._build(*(Slot(i) for i in range(self._arity)))
        compiler = queryset.query.get_compiler(connection=conn)
        sql, params = compiler.as_sql()
        fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
        converters = {
            index: ([_faster(convert) for convert in convs], expression)
            for index, (convs, expression) in compiler.get_converters(fields).items()
        }
        compiled = _Compiled(sql, list(params), converters, compiler)
        self._local.compiled = (conn, compiled)
        return compiled


def _faster(convert: Any) -> Any:
    """``convert``, or for a plain ``JSONField`` one that parses with orjson and falls back to it.

    Django parses JSON columns with ``json.loads``; orjson returns the same values (the database
    holds valid JSON) two to three times faster, and the fold reads the facets of every dataset,
    job and run it touches — for a 500-event batch that parsing was the largest part of its reads.
    orjson reads an integer beyond 64 bits as a float, losing digits: a value with a run of 19
    digits anywhere (cheap to find, rare in facets) goes to Django's converter, as does anything
    orjson refuses.
    """
    field = getattr(convert, "__self__", None)
    if not isinstance(field, JSONField) or getattr(convert, "__func__", None) is not JSONField.from_db_value:
        return convert
    if field.decoder is not None:
        return convert

    def from_db_value(value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and not has_long_digit_run(value.encode("utf-8", "replace")):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return convert(value, expression, connection)

    return from_db_value
