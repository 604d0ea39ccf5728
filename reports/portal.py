"""The auditors' portal: their granted systems, those systems' issued reports, downloads, verification.

An auditor is a user who is not staff and holds ``AuditorGrant`` rows. Everything here answers
404 for a system or report outside the auditor's live grants — the same answer as for one that
does not exist, so the portal does not even confirm what exists. Staff are sent to their own pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from catalog.roles import is_auditor
from catalog.selectors import auditor_grant_list, auditor_systems
from reports.models import Report
from reports.services import report_download_record
from reports.verification import report_claimed_systems, report_verify

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
# What browsers and HTTP clients send for a PDF; the file's own first bytes are checked as well.
PDF_CONTENT_TYPES = {"application/pdf", "application/x-pdf", "application/octet-stream"}
TOO_LARGE = f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB, the most a report can be to be verified."

View = Callable[..., HttpResponse]


def auditor_required(view: View) -> View:
    """Signed-in auditors only: anonymous → the portal's login; staff → their pages; others → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        if user.is_staff:
            return redirect("/ui/")
        if not is_auditor(user):
            raise PermissionDenied("The portal is for auditors.")
        return view(request, *args, **kwargs)

    return wrapped


class PortalLoginView(LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/ui/" if self.request.user.is_staff else reverse("portal:home")


@require_POST
def portal_logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:login")


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    """The portal's 404: the same page whether the thing is missing, never granted, expired or revoked."""
    return render(request, "portal/not_found.html", {"message": message}, status=404)


def _granted_report(request: HttpRequest, report_id: str) -> Report | None:
    return (
        Report.objects.defer("pdf", "evidence")
        .select_related("system")
        .filter(report_id=report_id, status=Report.Status.ISSUED, system__in=auditor_systems(user=request.user))
        .first()
    )


@auditor_required
def portal_home_view(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    issued = Count("reports", filter=Q(reports__status=Report.Status.ISSUED))
    systems = list(auditor_systems(user=request.user, now=now).annotate(issued_reports=issued))
    expiry = dict(auditor_grant_list(user=request.user, now=now).values_list("system_id", "expires_at"))
    rows = [{"system": s, "expires_at": expiry.get(s.pk), "reports": s.issued_reports} for s in systems]
    return render(request, "portal/home.html", {"rows": rows})


@auditor_required
def portal_system_view(request: HttpRequest, slug: str) -> HttpResponse:
    system = auditor_systems(user=request.user).filter(slug=slug).first()
    if system is None:
        return _not_found(
            request, "No system by that name is among those granted to you, or your access has expired or been revoked."
        )
    reports = (
        Report.objects.defer("pdf", "evidence")
        .filter(system=system, status=Report.Status.ISSUED)
        .order_by("-as_of_seq", "kind")
    )
    return render(request, "portal/system.html", {"system": system, "reports": reports})


@auditor_required
def portal_download_view(request: HttpRequest, report_id: str) -> HttpResponse:
    report = _granted_report(request, report_id)
    if report is None:
        return _not_found(
            request, "No report with that id belongs to a system granted to you, or your access has expired or ended."
        )
    report_download_record(
        report=report,
        actor=request.user.get_username(),
        channel="portal",
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    pdf = Report.objects.values_list("pdf", flat=True).get(pk=report.pk)
    response = HttpResponse(bytes(pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["X-Content-SHA256"] = report.file_sha256
    return response


class VerifyForm(forms.Form):
    file = forms.FileField(label="Report PDF", help_text="A report PDF downloaded from Tracemark (at most 50 MB).")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(TOO_LARGE)
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type not in PDF_CONTENT_TYPES:
            raise forms.ValidationError(f"Upload a PDF file (this one was sent as {content_type or 'unknown type'}).")
        head = upload.read(len(PDF_MAGIC))
        upload.seek(0)
        if head != PDF_MAGIC:
            raise forms.ValidationError("This is not a PDF file.")
        return upload


@auditor_required
@require_http_methods(["GET", "POST"])
def portal_verify_view(request: HttpRequest) -> HttpResponse:
    verdict = None
    foreign = False
    # Refuse an oversized body before Django spools it to disk (the form checks the file again).
    if request.method == "POST" and int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
        context = {"form": VerifyForm(), "upload_error": TOO_LARGE, "verdict": None, "foreign": False}
        return render(request, "portal/verify.html", context, status=413)
    form = VerifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        pdf = form.cleaned_data["file"].read()
        granted = set(auditor_systems(user=request.user).values_list("slug", flat=True))
        # A report naming a system outside the grants is not checked at all: the checks would
        # describe that system's record (hashes, ledger positions) to someone who may not see it.
        if report_claimed_systems(pdf=pdf) - granted:
            foreign = True
        else:
            verdict = report_verify(pdf=pdf)
    status = 200 if request.method == "GET" or form.is_valid() else 400
    return render(request, "portal/verify.html", {"form": form, "verdict": verdict, "foreign": foreign}, status=status)
