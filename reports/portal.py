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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from catalog.roles import is_auditor
from catalog.selectors import auditor_systems
from reports.models import Report
from reports.services import report_download_record
from reports.verification import report_verify

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PDF_MAGIC = b"%PDF-"

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


def _granted_report(request: HttpRequest, report_id: str) -> Report:
    report = (
        Report.objects.defer("pdf", "evidence")
        .select_related("system")
        .filter(report_id=report_id, status=Report.Status.ISSUED, system__in=auditor_systems(user=request.user))
        .first()
    )
    if report is None:
        raise Http404("No such report among your systems.")
    return report


@auditor_required
def portal_home_view(request: HttpRequest) -> HttpResponse:
    systems = list(auditor_systems(user=request.user))
    grants = {
        g.system_id: g
        for g in request.user.auditor_grants.filter(revoked_at__isnull=True, system__in=systems).order_by("created_at")
    }
    issued = Report.objects.filter(system__in=systems, status=Report.Status.ISSUED)
    counts: dict[int, int] = {}
    for system_id in issued.values_list("system_id", flat=True):
        counts[system_id] = counts.get(system_id, 0) + 1
    rows = [{"system": s, "grant": grants.get(s.pk), "reports": counts.get(s.pk, 0)} for s in systems]
    return render(request, "portal/home.html", {"rows": rows})


@auditor_required
def portal_system_view(request: HttpRequest, slug: str) -> HttpResponse:
    system = auditor_systems(user=request.user).filter(slug=slug).first()
    if system is None:
        raise Http404("No such system among your grants.")
    reports = (
        Report.objects.defer("pdf", "evidence")
        .filter(system=system, status=Report.Status.ISSUED)
        .order_by("-as_of_seq", "kind")
    )
    return render(request, "portal/system.html", {"system": system, "reports": reports})


@auditor_required
def portal_download_view(request: HttpRequest, report_id: str) -> HttpResponse:
    report = _granted_report(request, report_id)
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
            raise forms.ValidationError("The file is larger than 50 MB.")
        head = upload.read(len(PDF_MAGIC))
        upload.seek(0)
        if head != PDF_MAGIC:
            raise forms.ValidationError("This is not a PDF file.")
        return upload


@auditor_required
@require_http_methods(["GET", "POST"])
def portal_verify_view(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None, request.FILES or None)
    verdict = None
    foreign = False
    if request.method == "POST" and form.is_valid():
        result = report_verify(pdf=form.cleaned_data["file"].read())
        granted = auditor_systems(user=request.user)
        known = Report.objects.filter(report_id=result.report_id, system__in=granted).exists()
        # A genuine report of a system outside the grants says nothing more than "not yours".
        if result.report_id and not known and Report.objects.filter(report_id=result.report_id).exists():
            foreign = True
        else:
            verdict = result
    status = 200 if request.method == "GET" or form.is_valid() else 400
    return render(request, "portal/verify.html", {"form": form, "verdict": verdict, "foreign": foreign}, status=status)
