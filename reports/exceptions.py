"""Domain errors of the reports app (mapped to HTTP by ``config.errors``)."""

from __future__ import annotations

from config.errors import NotFound, ValidationFailed


class ReportInvalid(ValidationFailed):
    """The report cannot be requested as asked (unknown kind, sequence beyond the ledger…)."""


class ReportNotFound(NotFound):
    pass
