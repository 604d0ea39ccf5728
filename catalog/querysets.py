from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL


def ids_in(ids: Collection[int]) -> Any:
    """The right-hand side of an ``__in`` lookup over many ids.

    On PostgreSQL the ids travel as one array parameter: with thousands of ids per query (the
    sweep's chunks, a propagation level), preparing one placeholder per id costs more than the
    query itself. Elsewhere (SQLite) the plain list.
    """
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    return list(ids)


def _holds_at(seq: int | None) -> Q:
    """Rows that hold at ledger sequence ``seq`` (the current ones when ``seq`` is None)."""
    if seq is None:
        return Q(valid_to_seq__isnull=True)
    return Q(first_seq__lte=seq) & (Q(valid_to_seq__isnull=True) | Q(valid_to_seq__gt=seq))


class AssertionQuerySet(models.QuerySet):
    def as_of(self, seq: int | None) -> AssertionQuerySet:
        return self.filter(_holds_at(seq))


class MemberQuerySet(models.QuerySet):
    def as_of(self, seq: int | None) -> MemberQuerySet:
        return self.filter(_holds_at(seq))


class FindingQuerySet(models.QuerySet):
    def open(self) -> FindingQuerySet:
        return self.filter(status="open")

    def unresolved(self) -> FindingQuerySet:
        return self.filter(status__in=("open", "waived"))
