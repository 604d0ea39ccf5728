from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction

from lineage.models import LedgerEntry
from reports.exceptions import ReportInvalid, ReportNotFound
from reports.models import Report, ReportDownload
from reports.services import report_as_of_seq, report_download_record, report_issue
from tests.reports.scenario import RECEIVED, Scenario


def test_issuing_records_the_file_hash_in_the_ledger(issued: Report) -> None:
    entry = LedgerEntry.objects.get(seq=issued.issuance_seq)

    body = orjson.loads(entry.payload)

    assert body["action"] == "report.issued"
    assert body["subject"] == f"report:{issued.report_id}"
    assert body["details"]["file_sha256"] == issued.file_sha256
    assert body["details"]["content_hash"] == issued.content_hash
    assert body["details"]["as_of_seq"] == issued.as_of_seq


def test_asking_again_for_the_same_report_returns_the_issued_file(issued: Report) -> None:
    again = report_issue(
        system_slug="credit-scoring", kind="annex-iv", as_of_seq=issued.as_of_seq, requested_by="someone.else"
    )

    assert again.pk == issued.pk
    assert bytes(again.pdf) == bytes(issued.pdf)
    assert again.issued_by == "ana.compliance"


def test_an_issued_report_cannot_be_changed_in_the_database(issued: Report) -> None:
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Report.objects.filter(pk=issued.pk).update(pdf=b"%PDF-forged")


def test_report_kinds_and_sequences_are_checked(scenario: Scenario) -> None:
    with pytest.raises(ReportInvalid, match="unknown report kind"):
        report_issue(system_slug="credit-scoring", kind="annex-v", as_of_seq=scenario.seq, requested_by="ana")
    with pytest.raises(ReportNotFound):
        report_issue(system_slug="nope", kind="annex-iv", as_of_seq=scenario.seq, requested_by="ana")
    with pytest.raises(ReportInvalid, match="does not exist"):
        report_as_of_seq(as_of_seq=scenario.seq + 50)


def test_as_of_a_time_is_the_last_ledger_entry_recorded_by_then(scenario: Scenario) -> None:
    entry = LedgerEntry.objects.get(seq=scenario.seq_after_lineage)

    assert report_as_of_seq(as_of=entry.received_at) >= scenario.seq_after_lineage
    with pytest.raises(ReportInvalid, match="no entry"):
        report_as_of_seq(as_of=RECEIVED - timedelta(days=1))


def test_downloads_are_logged(issued: Report) -> None:
    report_download_record(report=issued, actor="auditor.kim", channel="web", ip="10.0.0.7", user_agent="curl")

    download = ReportDownload.objects.get(report=issued)
    assert (download.actor, download.channel, download.ip) == ("auditor.kim", "web", "10.0.0.7")


def test_build_report_without_a_system_lists_the_systems(scenario: Scenario, capsys: pytest.CaptureFixture) -> None:
    call_command("build_report")

    out = capsys.readouterr().out
    assert "credit-scoring" in out
    assert "high-risk" in out


def test_build_report_writes_the_pdf_as_of_a_sequence(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "annex.pdf"

    call_command(
        "build_report", "--system", "credit-scoring", "--kind", "gpai-summary",
        "--as-of-seq", str(scenario.seq), "--out", str(out), "--issued-by", "ana",
    )  # fmt: skip

    report = Report.objects.get(kind="gpai-summary")
    assert out.read_bytes() == bytes(report.pdf)
    assert report.as_of_seq == scenario.seq
    assert f"sha256:{report.content_hash}" in capsys.readouterr().out
    assert ReportDownload.objects.filter(report=report, channel="cli").exists()


def test_build_report_as_of_an_iso_time(scenario: Scenario, tmp_path: Path) -> None:
    at = LedgerEntry.objects.get(seq=scenario.seq_after_lineage).received_at

    call_command(
        "build_report", "--system", "credit-scoring", "--kind", "annex-iv",
        "--as-of", at.isoformat(), "--out", str(tmp_path / "r.pdf"),
    )  # fmt: skip

    assert Report.objects.get().as_of_seq == max(
        LedgerEntry.objects.filter(received_at__lte=at).values_list("seq", flat=True)
    )


def test_build_report_refuses_an_unknown_system(scenario: Scenario, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no AI system"):
        call_command("build_report", "--system", "nope", "--kind", "annex-iv", "--out", str(tmp_path / "r.pdf"))
