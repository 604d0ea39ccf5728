from __future__ import annotations

from config.errors import ApplicationError, FieldError


class BodyTooLarge(ApplicationError):
    def __init__(self, limit: int) -> None:
        super().__init__(message=f"The request body exceeds the limit of {limit} bytes.", status=413)


class UnsupportedMediaType(ApplicationError):
    def __init__(self, content_type: str) -> None:
        super().__init__(message=f"Unsupported Content-Type {content_type!r}: send application/json.", status=415)


class MalformedBody(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=400)


class EventRejected(ApplicationError):
    """An event failed validation; ``errors`` names each problem with its path."""

    def __init__(self, errors: list[FieldError], message: str = "The event is invalid.") -> None:
        super().__init__(message=message, errors=errors, status=400)


class NamespaceForbidden(ApplicationError):
    def __init__(self, namespaces: list[str]) -> None:
        super().__init__(
            message="This API key may not write to namespace(s): " + ", ".join(sorted(namespaces)),
            errors=[FieldError(path="namespace", message=f"not allowed: {ns}") for ns in sorted(namespaces)],
            status=403,
        )
