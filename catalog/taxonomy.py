"""The built-in classification taxonomy; staff extend it with their own ``Classification`` rows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassificationFlags:
    key: str
    label: str
    personal_data: bool = False
    special_category: bool = False
    propagates: bool = True


BUILTIN_CLASSIFICATIONS: tuple[ClassificationFlags, ...] = (
    ClassificationFlags("pii", "Personal data (PII)", personal_data=True),
    ClassificationFlags(
        "special-category", "Special-category personal data (GDPR Art. 9)", personal_data=True, special_category=True
    ),
    ClassificationFlags("confidential", "Confidential"),
    ClassificationFlags("copyrighted", "Copyrighted material"),
    ClassificationFlags("synthetic", "Synthetic data", propagates=False),
    ClassificationFlags("public", "Public data", propagates=False),
    ClassificationFlags("aggregated", "Aggregated / statistics only", propagates=False),
    ClassificationFlags("financial", "Financial data"),
)
BUILTIN_BY_KEY = {c.key: c for c in BUILTIN_CLASSIFICATIONS}


def classification_key(raw: str) -> str:
    """Normalise what producers send (``PII``, ``Special Category``) to a taxonomy key."""
    return "-".join(raw.strip().lower().replace("_", " ").split())
