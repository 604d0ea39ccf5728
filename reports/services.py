"""Write services of the reports app: request, build and issue reports; log downloads.

Issuing is split so that the slow part (reading the lineage, rendering, signing) runs outside
any transaction: ``report_request`` records what was asked in one short transaction, and
``report_build`` claims the row with a conditional update, builds, and then records the result
and the ledger entry in a second short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from lineage.canonical import sha256_hex
from lineage.services import governance_record
from reports import selectors
from reports.evidence import KINDS, evidence_build, report_id_for
from reports.exceptions import ReportInvalid, ReportNotFound
from reports.models import Report, ReportDownload
from reports.rendering import Issuance, report_render
from reports.signing import pdf_sign, signing_configured

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]


def report_as_of_seq(*, as_of_seq: int | None = None, as_of: datetime | None = None) -> int:
    """The ledger sequence a report is built as of: given, the last one recorded at a time, or the head."""
    if as_of_seq is not None and as_of is not None:
        raise ReportInvalid("give either a ledger sequence or a time, not both")
    head = selectors.ledger_anchor_get(as_of_seq=None).seq
    if as_of is not None:
        if timezone.is_naive(as_of):
            raise ReportInvalid("the as-of time needs a timezone (e.g. 2026-03-04T12:00:00Z)")
        seq = selectors.ledger_seq_at(when=as_of)
        if seq == 0:
            raise ReportInvalid(f"the ledger has no entry at or before {as_of.isoformat()}")
        return seq
    if as_of_seq is None:
        return head
    if as_of_seq < 1 or as_of_seq > head:
        raise ReportInvalid(f"ledger sequence {as_of_seq} does not exist (the ledger runs from #1 to #{head})")
    return as_of_seq


@transaction.atomic
def report_request(*, system_slug: str, kind: str, as_of_seq: int, requested_by: str) -> Report:
    """Record a request for a report; the same system, kind and sequence give the same report row."""
    if kind not in KINDS:
        raise ReportInvalid(f"unknown report kind {kind!r}; one of: {', '.join(KINDS)}")
    system = selectors.system_get(slug=system_slug)
    if system is None:
        raise ReportNotFound(f"no AI system with slug {system_slug!r}")
    existing = Report.objects.select_for_update().filter(system=system, kind=kind, as_of_seq=as_of_seq).first()
    if existing is not None:
        if existing.status == Report.Status.FAILED:
            Report.objects.filter(pk=existing.pk, status=Report.Status.FAILED).update(
                status=Report.Status.QUEUED,
                progress=0,
                progress_message="requested again",
                error="",
                requested_by=requested_by,
                requested_at=timezone.now(),
            )
            existing.refresh_from_db()
        return existing
    anchor = selectors.ledger_anchor_get(as_of_seq=as_of_seq)
    try:
        with transaction.atomic():
            return Report.objects.create(
                report_id=report_id_for(slug=system.slug, kind=kind, seq=as_of_seq),
                system=system,
                kind=kind,
                as_of_seq=as_of_seq,
                ledger_head_hash=anchor.chain_hash,
                requested_by=requested_by,
                requested_at=timezone.now(),
                progress_message="queued",
            )
    except IntegrityError:  # a concurrent request for the same report won the insert
        return Report.objects.get(system=system, kind=kind, as_of_seq=as_of_seq)


def _progress(report_pk: int, percent: int, message: str) -> None:
    Report.objects.filter(pk=report_pk).exclude(status=Report.Status.ISSUED).update(
        progress=percent, progress_message=message[:200]
    )


def report_build(*, report_pk: int, progress: Progress | None = None) -> Report:
    """Build, render, sign and issue a requested report. Safe to run twice: an issued report is kept."""
    claimed = Report.objects.filter(pk=report_pk, status__in=(Report.Status.QUEUED, Report.Status.FAILED)).update(
        status=Report.Status.BUILDING, progress=1, progress_message="reading the ledger", error=""
    )
    report = Report.objects.select_related("system").get(pk=report_pk)
    if not claimed:
        return report  # issued already, or another worker is building it

    def step(percent: int, message: str) -> None:
        _progress(report_pk, percent, message)
        if progress is not None:
            progress(percent, message)

    try:
        step(5, "collecting evidence from the lineage and the catalog")
        document = evidence_build(system=report.system, kind=report.kind, as_of_seq=report.as_of_seq)
        step(40, "rendering the PDF")
        issuance = Issuance(report_id=report.report_id, issued_by=report.requested_by, issued_at=timezone.now())
        pdf = report_render(evidence_bytes=document.canonical, issuance=issuance)
        signed = signing_configured()
        if signed:
            step(85, "signing")
            pdf = pdf_sign(pdf, reason=f"Tracemark report {report.report_id}, content sha256:{document.content_hash}")
        step(95, "recording issuance in the ledger")
        return _issue(report, document.canonical, document.content_hash, pdf, issuance, signed, document.data)
    except Exception as exc:  # any failure: record it on the row for the UI, then let it propagate
        logger.exception("report %s failed", report.report_id)
        Report.objects.filter(pk=report_pk, status=Report.Status.BUILDING).update(
            status=Report.Status.FAILED, error=str(exc)[:2000], progress_message="failed"
        )
        raise


@transaction.atomic
def _issue(
    report: Report, evidence: bytes, content_hash: str, pdf: bytes, issuance: Issuance, signed: bool, data: dict
) -> Report:
    file_sha256 = sha256_hex(pdf)
    entry = governance_record(
        action="report.issued",
        subject=f"report:{report.report_id}",
        actor=issuance.issued_by,
        details={
            "system": report.system.slug,
            "kind": report.kind,
            "as_of_seq": report.as_of_seq,
            "ledger_head_hash": report.ledger_head_hash,
            "content_hash": content_hash,
            "file_sha256": file_sha256,
            "file_size": len(pdf),
            "signed": signed,
        },
    )
    Report.objects.filter(pk=report.pk, status=Report.Status.BUILDING).update(
        status=Report.Status.ISSUED,
        progress=100,
        progress_message="issued",
        issued_by=issuance.issued_by,
        issued_at=issuance.issued_at,
        content_hash=content_hash,
        evidence=evidence,
        pdf=pdf,
        file_sha256=file_sha256,
        file_size=len(pdf),
        signed=signed,
        completeness=data["completeness"]["percent"],
        gap_count=len(data["gaps"]),
        issuance_seq=entry.seq,
    )
    report.refresh_from_db()
    logger.info("report issued", extra={"report_id": report.report_id, "seq": entry.seq, "sha256": file_sha256})
    return report


def report_issue(
    *, system_slug: str, kind: str, as_of_seq: int, requested_by: str, progress: Progress | None = None
) -> Report:
    """Request and build a report in this process (the command line); the UI goes through Celery."""
    report = report_request(system_slug=system_slug, kind=kind, as_of_seq=as_of_seq, requested_by=requested_by)
    if report.status == Report.Status.ISSUED:
        return report
    return report_build(report_pk=report.pk, progress=progress)


@transaction.atomic
def report_download_record(
    *, report: Report, actor: str, channel: str, ip: str | None = None, user_agent: str = ""
) -> ReportDownload:
    """Log one download of an issued report (who, when, from where)."""
    if report.status != Report.Status.ISSUED:
        raise ReportInvalid("only issued reports can be downloaded")
    download = ReportDownload.objects.create(
        report=report, actor=actor, at=timezone.now(), ip=ip, user_agent=user_agent[:300], channel=channel
    )
    logger.info("report downloaded", extra={"report_id": report.report_id, "actor": actor, "channel": channel})
    return download
