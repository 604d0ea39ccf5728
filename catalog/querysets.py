from __future__ import annotations

from django.db import models
from django.db.models import Q


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
