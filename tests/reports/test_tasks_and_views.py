from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.roles import STEWARD, user_create
from config.celery import app
from reports.models import Report, ReportDownload
from reports.services import report_request
from reports.tasks import report_issue
from tests.reports.scenario import Scenario


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks in-process, as a worker would, instead of through the broker."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def staff(db: None) -> Client:
    """A steward: issuing reports needs that role (catalog.roles)."""
    user_create(username="ana.compliance", role=STEWARD)
    user = User.objects.get(username="ana.compliance")
    client = Client()
    client.force_login(user)
    return client


def test_report_task_issues_a_requested_report_with_progress(scenario: Scenario) -> None:
    report = report_request(system_slug="credit-scoring", kind="annex-iv", as_of_seq=scenario.seq, requested_by="ana")

    report_issue.apply(kwargs={"report_pk": report.pk})
    report_issue.apply(kwargs={"report_pk": report.pk})  # twice: nothing changes

    report.refresh_from_db()
    assert report.status == Report.Status.ISSUED
    assert (report.progress, report.progress_message) == (100, "issued")
    assert Report.objects.count() == 1


def test_report_task_runs_on_its_own_queue() -> None:
    route = app.amqp.router.route({}, report_issue.name)

    assert route["queue"].name == "reports"


def test_report_task_ignores_a_report_that_is_gone(db: None) -> None:
    report_issue.apply(kwargs={"report_pk": 999_999})


def test_staff_issue_a_report_from_the_page_and_watch_it(
    scenario: Scenario, staff: Client, eager_celery: None, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/reports/", {"system": "credit-scoring", "kind": "data-governance"})

    report = Report.objects.get()
    progress = staff.get(f"/reports/{report.report_id}/progress").json()
    assert response.status_code == 302
    assert progress["status"] == "issued"
    assert report.as_of_seq == scenario.seq
    assert report.requested_by == "ana.compliance"


def test_downloading_a_report_is_logged(issued: Report, staff: Client) -> None:
    response = staff.get(f"/reports/{issued.report_id}/download", HTTP_USER_AGENT="pytest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == bytes(issued.pdf)
    assert ReportDownload.objects.filter(report=issued, actor="ana.compliance", channel="web").count() == 1


def test_an_uploaded_report_is_verified(issued: Report, staff: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("r.pdf", bytes(issued.pdf), content_type="application/pdf")

    response = staff.post("/reports/verify/", {"file": upload})

    assert response.status_code == 200
    assert "Verified: genuine and matching the ledger" in response.content.decode()


def test_report_pages_need_staff(issued: Report, client: Client) -> None:
    response = client.get(f"/reports/{issued.report_id}/download")

    assert response.status_code == 302
    assert ReportDownload.objects.count() == 0


def test_admin_lists_reports_and_logs_downloads(issued: Report, admin_client: Client) -> None:
    listing = admin_client.get("/admin/reports/report/")
    detail = admin_client.get(f"/admin/reports/report/{issued.pk}/change/")
    download = admin_client.get(f"/admin/reports/report/{issued.pk}/download/")

    assert listing.status_code == 200
    assert issued.report_id in listing.content.decode()
    assert detail.status_code == 200
    assert download.content == bytes(issued.pdf)
    assert ReportDownload.objects.get(report=issued).channel == "admin"
