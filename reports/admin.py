from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from reports.models import Report, ReportDownload
from reports.services import report_download_record, report_request


class DownloadInline(admin.TabularInline):
    model = ReportDownload
    extra = 0
    fields = ["at", "actor", "channel", "ip", "user_agent"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Issued reports are immutable: staff request, watch progress, download (logged), never edit."""

    list_display = [
        "report_id",
        "system",
        "kind",
        "as_of_seq",
        "status",
        "progress",
        "completeness",
        "gap_count",
        "signed",
        "issued_at",
        "issued_by",
    ]
    list_filter = ["kind", "status", "signed"]
    search_fields = ["report_id", "system__slug", "content_hash", "file_sha256"]
    exclude = ["pdf", "evidence"]
    readonly_fields = [f.name for f in Report._meta.fields if f.name not in ("pdf", "evidence")] + ["download"]
    inlines = [DownloadInline]
    actions = ["reissue_failed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).defer("pdf", "evidence").select_related("system")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requested from the reports page, which enqueues the build

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:pk>/download/", download, name="reports_report_download"), *super().get_urls()]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = get_object_or_404(Report, pk=pk, status=Report.Status.ISSUED)
        report_download_record(
            report=report,
            actor=request.user.get_username(),
            channel="admin",
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.headers.get("User-Agent", ""),
        )
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
        return response

    @admin.display(description="PDF")
    def download(self, obj: Report) -> str:
        if obj.status != Report.Status.ISSUED:
            return "—"
        url = reverse("admin:reports_report_download", args=[obj.pk])
        return format_html('<a href="{}">Download {}</a> (logged)', url, obj.filename)

    def has_reissue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reports.add_report")  # issuing is a steward's right

    @admin.action(description="Build again (failed reports only)", permissions=["reissue"])
    def reissue_failed(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        from reports.tasks import report_issue

        count = 0
        for report in queryset.filter(status=Report.Status.FAILED):
            with transaction.atomic():
                again = report_request(
                    system_slug=report.system.slug,
                    kind=report.kind,
                    as_of_seq=report.as_of_seq,
                    requested_by=request.user.get_username(),
                )
                report_issue.delay_on_commit(report_pk=again.pk)
            count += 1
        messages.info(request, f"{count} report(s) queued again.")


@admin.register(ReportDownload)
class ReportDownloadAdmin(admin.ModelAdmin):
    list_display = ["report", "actor", "channel", "at", "ip"]
    list_filter = ["channel"]
    search_fields = ["report__report_id", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
