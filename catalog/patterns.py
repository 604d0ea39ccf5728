"""Glob patterns (``s3://eu-*``) as used by rules, in Python and as a portable SQL regex."""

from __future__ import annotations

import fnmatch
import re


def glob_match(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def glob_regex(pattern: str) -> str:
    """An anchored regex for ``__regex`` lookups that means the same on SQLite and PostgreSQL."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char) if not char.isalnum() else char)
    return "^" + "".join(parts) + "$"
