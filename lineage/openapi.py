"""OpenAPI (drf-spectacular) descriptions of the lineage app's own authentication classes.

Imported by ``LineageConfig.ready`` so that the schema at ``/api/schema/`` says how each endpoint is
called: a producer's key as ``Authorization: Bearer …`` on the intake, a staff session or the same
staff login over Basic auth on the reads.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ProducerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "lineage.authentication.ApiKeyAuthentication"
    name = "producerKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return dict(build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer"))  # noqa: S106


class StaffBasicScheme(OpenApiAuthenticationExtension):
    target_class = "lineage.authentication.StaffBasicAuthentication"
    name = "staffBasic"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "basic", "description": "A staff member's own username and password."}


def allow_empty_optional_query_parameters(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Mark optional query parameters ``allowEmptyValue``: DRF reads ``?limit=`` as no ``limit`` at all.

    A postprocessing hook (``SPECTACULAR_SETTINGS``): the read API validates its query string with
    serializers, and a serializer treats an empty value of an optional field as absent (the default
    applies), so the schema says that an empty value is accepted.
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


# What ``str.strip()`` removes, so what DRF's ``CharField`` trims: Python's whitespace, not the regular
# expression ``\s`` of JSON Schema validators (Python strips U+001C to U+001F and U+0085 and keeps U+FEFF).
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK_PATTERN = "^[^\\u0000]*[^{}\\u0000][^\\u0000]*$".format(
    "".join(f"\\u{ord(c):04x}" for c in PYTHON_WHITESPACE)
)
NO_NUL_PATTERN = "^[^\\u0000]*$"


def forbid_nul_in_query_strings(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Say in the schema that query-string values may not hold NUL characters, and that a required
    free-text one must hold more than whitespace.

    DRF's ``CharField`` refuses NUL (400, "Null characters are not allowed"), as PostgreSQL could
    not store or compare them, and trims whitespace before refusing a blank required value (a
    search for "\\n" is a search for nothing); a free-text string parameter gets a pattern that
    says so, naming the characters Python trims (``PYTHON_WHITESPACE``). Names (a namespace, a node
    id) are taken as given, untrimmed: OpenLineage names may begin or end with a space.
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query" or schema.get("type") != "string":
                    continue
                if not any(key in schema for key in ("pattern", "enum", "format")):
                    schema["pattern"] = NOT_BLANK_PATTERN if parameter.get("required") else NO_NUL_PATTERN
    return result
