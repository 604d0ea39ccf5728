"""Domain errors of the catalog, mapped to HTTP answers by ``config.errors``."""

from __future__ import annotations

from config.errors import ApplicationError


class CatalogInvalid(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=400)


class ExpressionInvalid(ApplicationError):
    """A staff rule's CEL expression does not compile or refers to something the context lacks."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=400)
