"""Issued compliance reports and their downloads.

A report is requested for (system, kind, ledger sequence), built by a Celery task on the
``reports`` queue, and once issued its bytes and hashes never change: a database trigger refuses
updates to them (see migration 0002), and the file's SHA-256 is written to the ledger.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models import AISystem


class ReportKind(models.TextChoices):
    ANNEX_IV = "annex-iv", "Annex IV technical documentation"
    DATA_GOVERNANCE = "data-governance", "Article 10 data-governance report"
    GPAI_SUMMARY = "gpai-summary", "GPAI public summary of training content"


class Report(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    report_id = models.CharField(
        max_length=40, unique=True, help_text="Derived from system, kind and sequence: rebuilding gives the same."
    )
    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=32, choices=ReportKind.choices)
    as_of_seq = models.BigIntegerField(help_text="Ledger sequence the report is built as of.")
    ledger_head_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done while building.")
    progress_message = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    # Set once, when issued; the trigger of migration 0002 refuses any later change.
    issued_by = models.CharField(max_length=150, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the evidence JSON.")
    evidence = models.BinaryField(blank=True, default=b"", help_text="The canonical evidence JSON.")
    pdf = models.BinaryField(blank=True, default=b"")
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    signed = models.BooleanField(default=False)
    completeness = models.PositiveSmallIntegerField(default=0, help_text="Overall completeness, percent.")
    gap_count = models.PositiveIntegerField(default=0)
    issuance_seq = models.BigIntegerField(null=True, blank=True, help_text="Ledger entry recording issuance.")

    class Meta:
        constraints = [
            # One report per system, kind and sequence: a second request for it gets the first.
            models.UniqueConstraint(fields=["system", "kind", "as_of_seq"], name="report_natural_key"),
            models.CheckConstraint(
                condition=~Q(status="issued") | (Q(file_sha256__gt="") & Q(content_hash__gt="")),
                name="report_issued_has_hashes",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_percent"),
        ]
        indexes = [
            # The system page and the auditor portal list a system's reports newest first.
            models.Index(fields=["system", "-as_of_seq"], name="report_system_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind} {self.system_id} @ {self.as_of_seq}"

    @property
    def filename(self) -> str:
        return f"{self.report_id}.pdf"


class ReportDownload(models.Model):
    """One download of an issued report: who, when, from where."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="downloads")
    actor = models.CharField(max_length=150)
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    channel = models.CharField(max_length=16, default="web", help_text="web, admin, cli")

    class Meta:
        indexes = [
            # A report's download log, newest first.
            models.Index(fields=["report", "-at"], name="reportdownload_report_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
