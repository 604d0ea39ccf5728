from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from pypdf import PdfReader

from lineage.canonical import sha256_hex
from reports.evidence import evidence_build
from reports.models import Report
from reports.rendering import Issuance, report_render
from tests.reports.conftest import pdf_attachments, pdf_text
from tests.reports.scenario import Scenario

ISSUANCE = Issuance(report_id="TMR-TEST", issued_by="ana.compliance", issued_at=datetime(2026, 3, 11, 8, tzinfo=UTC))


def test_report_is_pdf_a_3b_with_the_evidence_embedded(issued: Report) -> None:
    pdf = bytes(issued.pdf)
    reader = PdfReader(BytesIO(pdf))

    xmp = reader.xmp_metadata.stream.get_data().decode()
    attachments = pdf_attachments(pdf)

    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert set(attachments) == {"evidence.json", "tracemark-report.json"}
    assert sha256_hex(attachments["evidence.json"]) == issued.content_hash
    assert bytes(issued.evidence) == attachments["evidence.json"]


def test_cover_shows_system_sequence_head_hash_report_id_and_content_hash(issued: Report) -> None:
    cover = PdfReader(BytesIO(bytes(issued.pdf))).pages[0].extract_text()

    assert "Technical documentation (AI Act Annex IV)" in cover
    assert "Credit scoring" in cover
    assert f"ledger sequence #{issued.as_of_seq}" in cover
    assert issued.ledger_head_hash in cover
    assert issued.report_id in cover
    assert f"sha256:{issued.content_hash}" in cover
    assert "ana.compliance" in cover


def test_document_metadata_carries_title_as_of_and_hashes(issued: Report) -> None:
    info = PdfReader(BytesIO(bytes(issued.pdf))).metadata

    assert info["/Title"] == "Technical documentation (AI Act Annex IV) — Credit scoring"
    assert f"ledger #{issued.as_of_seq}" in info["/Subject"]
    assert info["/tracemarkcontenthash"] == issued.content_hash
    assert info["/tracemarkledgerhead"] == issued.ledger_head_hash
    assert info["/tracemarkledgerseq"] == str(issued.as_of_seq)
    assert info["/CreationDate"].startswith("D:2026")


def test_sections_are_headed_with_the_annex_iv_point_they_answer(issued: Report) -> None:
    text = pdf_text(bytes(issued.pdf))

    for heading in (
        "1 — General description of the AI system",
        "2 — Elements of the AI system and its development process",
        "9 — Post-market monitoring (Art. 72)",
        "Policy results as of",
        "Gaps and what would close them",
        "Legal regime",
        "Evidence index",
    ):
        assert heading in text
    assert "Page 3 of" in text


def test_rendering_the_same_evidence_twice_gives_identical_bytes(scenario: Scenario) -> None:
    document = evidence_build(system="credit-scoring", kind="data-governance", as_of_seq=scenario.seq)

    first = report_render(evidence_bytes=document.canonical, issuance=ISSUANCE)
    second = report_render(evidence_bytes=document.canonical, issuance=ISSUANCE)

    assert first == second


def test_report_embeds_only_the_bundled_fonts(issued: Report) -> None:
    reader = PdfReader(BytesIO(bytes(issued.pdf)))

    fonts = {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }

    assert fonts
    assert all(name.startswith(("TMSans", "TMMono")) for name in fonts), fonts


def test_every_page_renders_to_png(issued: Report, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(issued.pdf))

    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)

    pages = len(PdfReader(BytesIO(bytes(issued.pdf))).pages)
    assert len(list(tmp_path.glob("page-*.png"))) == pages


def test_lineage_diagram_is_vector_graphics_marking_personal_data(issued: Report) -> None:
    text = pdf_text(bytes(issued.pdf))

    assert "Lineage of the system" in text
    assert "lending.public.loan_" in text  # box titles are text, not pixels
    assert "PII" in text
