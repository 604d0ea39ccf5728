"""HTML endpoints of the reports: request with progress, download (logged), verify an upload.

Staff only: every staff role reads, downloads and verifies; issuing needs ``reports.add_report``
(stewards and administrators). Auditors use their own pages in ``reports.portal``.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from config.errors import ApplicationError
from reports import selectors
from reports.evidence import KINDS
from reports.models import Report
from reports.services import report_as_of_seq, report_download_record, report_request
from reports.verification import report_verify

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class RequestForm(forms.Form):
    system = forms.SlugField()
    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS])
    as_of_seq = forms.IntegerField(required=False, min_value=1, help_text="Empty: the ledger head.")


class VerifyForm(forms.Form):
    file = forms.FileField(help_text="A Tracemark report PDF")


def _actor(request: HttpRequest) -> str:
    user = request.user
    return user.get_username() if user.is_authenticated else "anonymous"


@staff_member_required
@require_http_methods(["GET", "POST"])
def report_list_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not request.user.has_perm("reports.add_report"):
        raise PermissionDenied("Issuing reports needs the steward role.")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from reports.tasks import report_issue

        try:
            with transaction.atomic():
                seq = report_as_of_seq(as_of_seq=form.cleaned_data["as_of_seq"])
                report = report_request(
                    system_slug=form.cleaned_data["system"],
                    kind=form.cleaned_data["kind"],
                    as_of_seq=seq,
                    requested_by=_actor(request),
                )
                if report.status == Report.Status.QUEUED:
                    report_issue.delay_on_commit(report_pk=report.pk)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("reports:detail", report_id=report.report_id)
    return render(
        request,
        "reports/list.html",
        {
            "reports": selectors.report_list(),
            "systems": selectors.system_list(),
            "kinds": selectors.report_kinds(),
            "form": form,
        },
    )


@staff_member_required
def report_detail_view(request: HttpRequest, report_id: str) -> HttpResponse:
    report = get_object_or_404(Report.objects.defer("pdf", "evidence").select_related("system"), report_id=report_id)
    return render(request, "reports/detail.html", {"report": report, "downloads": report.downloads.order_by("-at")})


@staff_member_required
def report_progress_view(request: HttpRequest, report_id: str) -> JsonResponse:
    row = Report.objects.filter(report_id=report_id).values("status", "progress", "progress_message", "error").first()
    if row is None:
        return JsonResponse({"message": "no such report", "errors": []}, status=404)
    return JsonResponse(row)


@staff_member_required
def report_download_view(request: HttpRequest, report_id: str) -> HttpResponse:
    report = get_object_or_404(Report, report_id=report_id, status=Report.Status.ISSUED)
    report_download_record(
        report=report,
        actor=_actor(request),
        channel="web",
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["X-Content-SHA256"] = report.file_sha256
    return response


@staff_member_required
@require_http_methods(["GET", "POST"])
def report_verify_view(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None, request.FILES or None)
    verdict = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", "The file is larger than 50 MB.")
        else:
            verdict = report_verify(pdf=upload.read())
    return render(request, "reports/verify.html", {"form": form, "verdict": verdict})
