from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from reports.models import Report
from reports.verification import _check_chain, _check_citations, report_verify
from tests.reports import tamper


def _failed(pdf: bytes) -> dict[str, str]:
    verdict = report_verify(pdf=pdf)
    assert not verdict.ok
    return {c.name: c.detail for c in verdict.failures}


def test_an_issued_report_verifies_against_the_ledger(issued: Report) -> None:
    verdict = report_verify(pdf=bytes(issued.pdf))

    assert verdict.ok, verdict.failures
    assert [c.name for c in verdict.checks] == [
        "attachments", "content hash", "metadata", "ledger head", "cited entries", "text",
        "document information", "rebuild", "issuance", "signature",
    ]  # fmt: skip
    assert verdict.content_hash == issued.content_hash


def test_edited_page_text_fails_naming_the_page(issued: Report) -> None:
    failed = _failed(tamper.edit_text(bytes(issued.pdf), page=2))

    assert "page 3" in failed["text"]
    assert "issuance" in failed
    assert "content hash" not in failed


def test_replaced_evidence_attachment_fails_on_the_content_hash(issued: Report) -> None:
    forged = tamper.replace_attachment(bytes(issued.pdf), "evidence.json", b"Factory Bank AG", b"Another Bank AG")

    failed = _failed(forged)

    assert "attachment evidence.json" in failed["content hash"]
    assert "manifest" in failed["content hash"]
    assert "text" in failed  # the pages no longer say what the evidence says


def test_edited_metadata_fails_naming_the_key(issued: Report) -> None:
    forged = tamper.set_metadata(bytes(issued.pdf), "/tracemarkledgerseq", "1")

    failed = _failed(forged)

    assert "/tracemarkledgerseq is '1'" in failed["metadata"]


def test_edited_title_fails_document_information(issued: Report) -> None:
    forged = tamper.set_metadata(bytes(issued.pdf), "/Title", "Annex IV — approved")

    failed = _failed(forged)

    assert "/Title" in failed["document information"]


def test_a_file_that_is_not_a_pdf_is_refused() -> None:
    verdict = report_verify(pdf=b"hello")

    assert not verdict.ok
    assert verdict.failures[0].name == "pdf"


def test_wrong_ledger_head_is_named(issued: Report) -> None:
    ok, detail = _check_chain(issued.as_of_seq, "0" * 64)

    assert not ok
    assert f"the ledger head at #{issued.as_of_seq} is {issued.ledger_head_hash}" in detail


def test_cited_entry_with_another_payload_hash_is_named(issued: Report) -> None:
    ok, detail = _check_citations([{"seq": 3, "payload_hash": "f" * 64}])

    assert not ok
    assert "#3 has payload hash" in detail


def test_verify_report_command_prints_a_verdict_and_exits_non_zero_on_failure(
    issued: Report, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(bytes(issued.pdf))
    bad.write_bytes(tamper.edit_text(bytes(issued.pdf), page=2))

    call_command("verify_report", str(good))
    with pytest.raises(CommandError) as failure:
        call_command("verify_report", str(bad))

    out = capsys.readouterr().out
    assert "VERIFIED: the report is genuine" in out
    assert "FAIL  text" in out
    assert failure.value.returncode == 1
    assert str(failure.value).startswith("NOT VERIFIED: text")
