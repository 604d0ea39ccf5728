"""The legal regime the reports are produced under, as data.

Every date and article a report relies on comes from this table, with its source and the day it
was last checked — never from a template. Update ``REGIME_VERSION`` and ``verified_on`` whenever a
row is re-checked; the version is part of every report's evidence, so a change is visible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TypedDict

REGIME_VERSION = "2026-11-23.1"
REGIME_SOURCE = "shared/REGULATION.md (Tracemark working summary; not legal advice)"

AI_ACT = "Regulation (EU) 2024/1689 (AI Act)"
OMNIBUS = "Digital Omnibus on AI (reported as Regulation (EU) 2026/1744)"
OJ_AI_ACT = "OJ L, 2024/1689, 12.7.2024 — http://data.europa.eu/eli/reg/2024/1689/oj"
OMNIBUS_SOURCE = "Reported; not yet verified against the Official Journal"


class RegimeRowDict(TypedDict):
    key: str
    instrument: str
    article: str
    subject: str
    applies_from: str
    source: str
    status: str
    verified_on: str


@dataclass(frozen=True)
class RegimeRow:
    key: str
    instrument: str
    article: str
    subject: str
    applies_from: date
    source: str
    status: str  # "in force" | "reported" (not verified against the Official Journal)
    verified_on: date

    def as_dict(self) -> RegimeRowDict:
        row = asdict(self)
        row["applies_from"] = self.applies_from.isoformat()
        row["verified_on"] = self.verified_on.isoformat()
        return RegimeRowDict(**row)  # type: ignore[typeddict-item]


_CHECKED = date(2026, 11, 23)

REGIME: tuple[RegimeRow, ...] = (
    RegimeRow(
        "ai-act.entry-into-force",
        AI_ACT,
        "Art. 113",
        "Entry into force",
        date(2024, 8, 1),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.prohibitions",
        AI_ACT,
        "Art. 5, Art. 4",
        "Prohibited practices; AI literacy",
        date(2025, 2, 2),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.gpai",
        AI_ACT,
        "Art. 51-55, Annex XI",
        "General-purpose AI model obligations",
        date(2025, 8, 2),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.gpai-summary-template",
        "AI Office template (24 Jul 2025)",
        "Art. 53(1)(d)",
        "Public summary of training content",
        date(2025, 8, 2),
        "European Commission, AI Office, template of 24 July 2025",
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.transparency",
        AI_ACT,
        "Art. 50",
        "Transparency obligations",
        date(2026, 8, 2),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "omnibus.entry-into-force",
        OMNIBUS,
        "—",
        "Entry into force of the amendment",
        date(2026, 7, 27),
        OMNIBUS_SOURCE,
        "reported",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.high-risk-annex-iii",
        f"{AI_ACT} as amended by the {OMNIBUS}",
        "Art. 6(2), Art. 8-17, Annex III, Annex IV",
        "High-risk obligations for Annex III systems (was 2 Aug 2026)",
        date(2027, 12, 2),
        OMNIBUS_SOURCE,
        "reported",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.high-risk-annex-i",
        f"{AI_ACT} as amended by the {OMNIBUS}",
        "Art. 6(1), Annex I",
        "High-risk obligations for product-embedded (Annex I) systems",
        date(2028, 8, 2),
        OMNIBUS_SOURCE,
        "reported",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.art-10-5",
        f"{AI_ACT} as amended by the {OMNIBUS}",
        "Art. 10(5) → Art. 4a",
        "Special-category data for bias detection",
        date(2026, 7, 27),
        OMNIBUS_SOURCE,
        "reported",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.retention-docs",
        AI_ACT,
        "Art. 18",
        "Technical documentation kept 10 years",
        date(2027, 12, 2),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
    RegimeRow(
        "ai-act.retention-logs",
        AI_ACT,
        "Art. 19, Art. 26(6)",
        "Automatically generated logs ≥ 6 months",
        date(2027, 12, 2),
        OJ_AI_ACT,
        "in force",
        _CHECKED,
    ),
)


def regime_rows(*, keys: tuple[str, ...] | None = None) -> list[RegimeRowDict]:
    """Rows of the legal-regime table, all or the given keys, in table order."""
    return [row.as_dict() for row in REGIME if keys is None or row.key in keys]
