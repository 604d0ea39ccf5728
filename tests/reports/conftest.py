"""Fixtures of the report tests: the seeded credit-scoring system and an issued report."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from reports.models import Report
from reports.services import report_issue
from tests.reports.scenario import Scenario, build_scenario, fixed_clock


@pytest.fixture
def scenario(db: None) -> Scenario:
    with fixed_clock():
        return build_scenario()


@pytest.fixture
def issued(scenario: Scenario) -> Report:
    return report_issue(
        system_slug="credit-scoring", kind="annex-iv", as_of_seq=scenario.seq, requested_by="ana.compliance"
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(BytesIO(pdf)).pages)


def pdf_attachments(pdf: bytes) -> dict[str, bytes]:
    return {name: data[0] for name, data in PdfReader(BytesIO(pdf)).attachments.items()}
