"""The auditor portal: only granted, unexpired, unrevoked systems; downloads logged; verification."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog.models import AISystem, AuditorGrant
from catalog.roles import AUDITOR, STEWARD, VIEWER, user_create, user_role
from lineage.models import LedgerHead
from reports.models import Report, ReportDownload
from reports.services import report_issue
from tests.reports.tamper import edit_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_reports(db: None) -> dict[str, Report]:
    """The demo factory with an issued Annex IV for each system, built per test.

    Issued reports and the ledger are immutable: data shared across tests would outlive them (and
    leak into every later test of the run), so each test builds its own.
    """
    call_command("seed_demo")
    seq = LedgerHead.objects.get().seq
    return {
        slug: report_issue(system_slug=slug, kind="annex-iv", as_of_seq=seq, requested_by="ana")
        for slug in ("credit-scoring", "factory-assistant")
    }


@pytest.fixture
def auditor(demo_reports) -> tuple[Client, str]:
    created = user_create(username="olga.auditor", role=AUDITOR)
    user = created_user("olga.auditor")
    now = timezone.now()
    AuditorGrant.objects.create(
        user=user,
        system=AISystem.objects.get(slug="credit-scoring"),
        granted_by="ana",
        expires_at=now + timedelta(days=30),
    )
    AuditorGrant.objects.create(
        user=user,
        system=AISystem.objects.get(slug="factory-assistant"),
        granted_by="ana",
        expires_at=now - timedelta(days=1),
    )
    client = Client()
    client.force_login(user)
    return client, created.password


def created_user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def test_roles_are_groups_with_the_expected_rights() -> None:
    steward = created_user(user_create(username="sam", role=STEWARD).username)
    viewer = created_user(user_create(username="vic", role=VIEWER).username)
    auditor = created_user(user_create(username="aud", role=AUDITOR).username)

    assert (user_role(steward), user_role(viewer), user_role(auditor)) == (STEWARD, VIEWER, AUDITOR)
    assert steward.is_staff
    assert viewer.is_staff
    assert not auditor.is_staff
    assert steward.has_perm("catalog.change_finding")
    assert steward.has_perm("reports.add_report")
    assert viewer.has_perm("catalog.view_finding")
    assert not viewer.has_perm("catalog.change_finding")
    assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in viewer.get_all_permissions())
    assert auditor.get_all_permissions() == set()
    assert not steward.has_perm("lineage.change_ledgerentry")
    assert not steward.has_perm("reports.change_report")


def test_an_auditor_sees_only_the_systems_granted_and_unexpired(auditor) -> None:
    client, _ = auditor

    home = client.get("/portal/")

    assert home.status_code == 200
    assert b"Consumer credit scoring" in home.content
    assert b"factory-assistant" not in home.content
    assert client.get("/portal/systems/credit-scoring/").status_code == 200
    assert client.get("/portal/systems/factory-assistant/").status_code == 404  # expired
    assert client.get("/portal/systems/no-such-system/").status_code == 404


def test_an_auditor_downloads_a_granted_report_and_the_download_is_logged(auditor, demo_reports) -> None:
    client, _ = auditor
    report = demo_reports["credit-scoring"]

    response = client.get(f"/portal/reports/{report.report_id}/download")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    download = ReportDownload.objects.get(report=report, channel="portal")
    assert download.actor == "olga.auditor"
    assert abs((timezone.now() - download.at).total_seconds()) < 60


def test_an_auditor_cannot_download_a_report_of_a_system_not_granted(auditor, demo_reports) -> None:
    client, _ = auditor
    other = demo_reports["factory-assistant"]

    assert client.get(f"/portal/reports/{other.report_id}/download").status_code == 404
    assert not ReportDownload.objects.filter(report=other).exists()


def test_a_revoked_grant_closes_the_system_at_once(auditor, demo_reports) -> None:
    client, _ = auditor
    AuditorGrant.objects.filter(system__slug="credit-scoring").update(revoked_at=timezone.now(), revoked_by="ana")

    assert client.get("/portal/systems/credit-scoring/").status_code == 404
    assert client.get(f"/portal/reports/{demo_reports['credit-scoring'].report_id}/download").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/ui/",
        "/admin/",
        "/reports/",
        "/api/v1/namespaces",
        "/api/v1/lineage?nodeId=dataset:s3://x:y",
        "/api/v1/search?q=credit",
    ],
)
def test_an_auditor_is_refused_outside_the_portal(auditor, url: str) -> None:
    client, _ = auditor

    response = client.get(url)

    # 403, or the staff login page (the admin's answer to a user who is not staff); never data.
    # (The OpenAPI schema stays public: it describes the API and holds no data.)
    assert response.status_code in (302, 403), (url, response.status_code)
    if response.status_code == 302:
        assert "login" in response["Location"]


def test_the_portal_verifies_a_genuine_report_and_names_what_a_tampered_one_changed(auditor, demo_reports) -> None:
    client, _ = auditor
    pdf = bytes(Report.objects.values_list("pdf", flat=True).get(pk=demo_reports["credit-scoring"].pk))

    genuine = client.post("/portal/verify/", {"file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")})
    tampered = client.post(
        "/portal/verify/", {"file": SimpleUploadedFile("r.pdf", edit_text(pdf, 0), "application/pdf")}
    )

    assert genuine.status_code == 200
    assert b"Verified: genuine and matching the ledger" in genuine.content
    assert tampered.status_code == 200
    assert b"Not verified" in tampered.content
    assert b"text" in tampered.content


def test_the_portal_refuses_to_say_anything_about_another_systems_report(auditor, demo_reports) -> None:
    client, _ = auditor
    pdf = bytes(Report.objects.values_list("pdf", flat=True).get(pk=demo_reports["factory-assistant"].pk))

    response = client.post("/portal/verify/", {"file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")})

    assert b"does not belong to a system you were granted" in response.content
    assert demo_reports["factory-assistant"].report_id.encode() not in response.content


def test_an_upload_that_is_not_a_pdf_gets_a_clear_error(auditor) -> None:
    client, _ = auditor

    response = client.post("/portal/verify/", {"file": SimpleUploadedFile("x.pdf", b"hello", "application/pdf")})

    assert response.status_code == 400
    assert b"This is not a PDF file." in response.content


def test_staff_and_anonymous_are_sent_to_their_doors() -> None:
    anonymous = Client().get("/portal/systems/credit-scoring/")
    staff = Client()
    staff.force_login(created_user(user_create(username="vic", role=VIEWER).username))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/portal/login/")
    assert staff.get("/portal/").status_code == 302


def test_an_auditor_signs_in_at_the_portal_login(demo_reports) -> None:
    created = user_create(username="ines", role=AUDITOR)
    client = Client()

    response = client.post("/portal/login/", {"username": "ines", "password": created.password})

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_pdf_bytes_helper_sanity(demo_reports) -> None:
    # The module fixture really issued both reports (a broken fixture would make the tests above vacuous).
    assert {r.status for r in demo_reports.values()} == {Report.Status.ISSUED}
    assert all(
        BytesIO(bytes(Report.objects.values_list("pdf", flat=True).get(pk=r.pk))).read(5) == b"%PDF-"
        for r in demo_reports.values()
    )
