"""The three report kinds: each turns the evidence context into its numbered sections."""

from __future__ import annotations

from collections.abc import Callable

from reports.evidence import Context, Section
from reports.kinds.annex_iv import annex_iv_sections
from reports.kinds.data_governance import data_governance_sections
from reports.kinds.gpai_summary import gpai_summary_sections

KIND_BUILDERS: dict[str, Callable[[Context], list[Section]]] = {
    "annex-iv": annex_iv_sections,
    "data-governance": data_governance_sections,
    "gpai-summary": gpai_summary_sections,
}
KIND_TITLES = {
    "annex-iv": "Technical documentation (AI Act Annex IV)",
    "data-governance": "Data and data governance (AI Act Article 10)",
    "gpai-summary": "Public summary of training content (AI Act Art. 53(1)(d), Annex XI)",
}
