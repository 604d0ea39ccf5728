"""The auditor portal: only granted, unexpired, unrevoked systems; downloads logged; verification."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog.models import AISystem, AuditorGrant
from catalog.roles import ADMINISTRATOR, AUDITOR, GROUPS, STEWARD, VIEWER, roles_sync, user_create, user_role
from catalog.selectors import auditor_systems
from reports.models import Report, ReportDownload
from reports.rendering import MANIFEST_NAME
from tests.reports.tamper import edit_text, replace_attachment
from tests.security.portal_data import EXPIRED, GRANTED, PortalData, auditor_with_grants, portal_data_build
from tests.security.portal_data import systems_register as _systems_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> PortalData:
    return portal_data_build()


@pytest.fixture
def portal(data: PortalData) -> Client:
    """The auditor of ``data``, signed in."""
    client = Client()
    client.force_login(data.auditor)
    return client


@pytest.fixture
def bare_auditor() -> Client:
    """An auditor granted credit-scoring (live) and factory-assistant (expired), with no reports about."""
    _systems_register()
    user, _ = auditor_with_grants()
    client = Client()
    client.force_login(user)
    return client


def _user(username: str):
    return get_user_model().objects.get(username=username)


def _pdf(report: Report) -> bytes:
    return bytes(Report.objects.values_list("pdf", flat=True).get(pk=report.pk))


def _upload(content: bytes, content_type: str = "application/pdf") -> dict[str, SimpleUploadedFile]:
    return {"file": SimpleUploadedFile("report.pdf", content, content_type)}


# --- Roles ------------------------------------------------------------------------------------


def test_each_role_is_a_group_with_the_rights_its_work_needs() -> None:
    steward = _user(user_create(username="sam", role=STEWARD).username)
    viewer = _user(user_create(username="vic", role=VIEWER).username)
    auditor = _user(user_create(username="aud", role=AUDITOR).username)
    admin = _user(user_create(username="root", role=ADMINISTRATOR).username)

    assert [user_role(u) for u in (steward, viewer, auditor, admin)] == [STEWARD, VIEWER, AUDITOR, ADMINISTRATOR]
    assert (steward.is_staff, viewer.is_staff, auditor.is_staff, admin.is_superuser) == (True, True, False, True)
    assert steward.has_perm("catalog.change_finding")
    assert steward.has_perm("catalog.add_auditorgrant")
    assert steward.has_perm("reports.add_report")
    assert not steward.has_perm("lineage.change_ledgerentry")
    assert not steward.has_perm("lineage.add_apikey")
    assert not steward.has_perm("reports.change_report")
    assert viewer.has_perm("catalog.view_finding")
    assert viewer.has_perm("lineage.view_ledgerentry")
    assert not [p for p in viewer.get_all_permissions() if not p.split(".")[1].startswith("view_")]
    assert auditor.get_all_permissions() == set()


def test_role_groups_exist_after_migrate_and_sync_roles_restores_their_permissions() -> None:
    viewers = Group.objects.get(name=GROUPS[VIEWER])
    viewers.permissions.clear()

    call_command("sync_roles", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert {g.name for g in Group.objects.all()} >= set(GROUPS.values())
    assert viewers.permissions.filter(codename="view_aisystem").exists()
    assert roles_sync() == roles_sync()  # idempotent


def test_create_user_prints_a_generated_password_once_that_signs_in(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_user", "kim", "--role", "auditor", "--email", "kim@example.org")

    out = capsys.readouterr().out
    password = out.split("password (shown once): ")[1].strip()
    assert "created auditor kim" in out
    assert _user("kim").check_password(password)
    assert user_role(_user("kim")) == AUDITOR
    assert _user("kim").email == "kim@example.org"


def test_create_user_takes_the_password_from_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with mock.patch.dict(os.environ, {"TRACEMARK_NEW_USER_PASSWORD": "correct horse battery staple"}):
        call_command("create_user", "sam", "--role", "steward")

    assert "correct horse" not in capsys.readouterr().out
    assert _user("sam").check_password("correct horse battery staple")
    assert _user("sam").is_staff


def test_create_user_refuses_an_unknown_role_and_a_taken_name() -> None:
    from django.core.management.base import CommandError

    user_create(username="kim", role=VIEWER)

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "kim", "--role", "steward")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_user", "lee", "--role", "root")


# --- Grants -----------------------------------------------------------------------------------


def test_auditor_systems_are_the_live_unexpired_unrevoked_grants() -> None:
    _systems_register()
    user, _ = auditor_with_grants()
    later = timezone.now() + timedelta(days=31)

    assert list(auditor_systems(user=user).values_list("slug", flat=True)) == [GRANTED]
    assert not auditor_systems(user=user, now=later).exists()  # the 30-day grant has run out
    AuditorGrant.objects.filter(system__slug=GRANTED).update(revoked_at=timezone.now())
    assert not auditor_systems(user=user).exists()


def test_a_system_has_at_most_one_live_grant_per_auditor() -> None:
    from django.db import IntegrityError, transaction

    _systems_register()
    user, _ = auditor_with_grants()

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditorGrant.objects.create(user=user, system=AISystem.objects.get(slug=GRANTED), granted_by="ana")


def test_a_steward_grants_an_auditor_a_system_in_the_admin_and_the_grant_is_in_the_ledger() -> None:
    from lineage.models import LedgerEntry

    _systems_register()
    auditor = _user(user_create(username="ines", role=AUDITOR).username)
    steward = Client()
    steward.force_login(_user(user_create(username="sam", role=STEWARD).username))
    system = AISystem.objects.get(slug=GRANTED)
    before = LedgerEntry.objects.count()

    response = steward.post(
        "/admin/catalog/auditorgrant/add/",
        {"user": auditor.pk, "system": system.pk, "reason": "engagement 7", "expires_at_0": "", "expires_at_1": ""},
    )

    assert response.status_code == 302, response.content[:2000]
    grant = AuditorGrant.objects.get(user=auditor)
    assert (grant.system, grant.granted_by, grant.expires_at) == (system, "sam", None)
    assert LedgerEntry.objects.count() == before + 1  # config/admin_audit.py records the change
    assert list(auditor_systems(user=auditor)) == [system]


def test_a_viewer_cannot_grant_or_revoke_in_the_admin() -> None:
    _systems_register()
    user, _ = auditor_with_grants()
    viewer = Client()
    viewer.force_login(_user(user_create(username="vic", role=VIEWER).username))
    grant = AuditorGrant.objects.get(user=user, system__slug=GRANTED)

    add = viewer.post("/admin/catalog/auditorgrant/add/", {"user": user.pk, "system": grant.system_id})
    revoke = viewer.post(
        "/admin/catalog/auditorgrant/", {"action": "revoke", "_selected_action": [grant.pk], "index": 0}
    )

    assert add.status_code == 403
    assert revoke.status_code in (200, 302)
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_a_steward_revokes_a_grant_with_the_admin_action() -> None:
    _systems_register()
    user, _ = auditor_with_grants()
    steward = Client()
    steward.force_login(_user(user_create(username="sam", role=STEWARD).username))
    grant = AuditorGrant.objects.get(user=user, system__slug=GRANTED)

    steward.post("/admin/catalog/auditorgrant/", {"action": "revoke", "_selected_action": [grant.pk], "index": 0})

    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.revoked_by == "sam"
    assert not auditor_systems(user=user).exists()


# --- The portal -------------------------------------------------------------------------------


def test_an_auditor_sees_only_the_systems_granted_and_unexpired(portal: Client) -> None:
    home = portal.get("/portal/")

    assert home.status_code == 200
    assert b"Credit scoring" in home.content
    assert b"Factory assistant" not in home.content
    assert EXPIRED.encode() not in home.content
    assert portal.get(f"/portal/systems/{GRANTED}/").status_code == 200
    assert portal.get(f"/portal/systems/{EXPIRED}/").status_code == 404
    assert portal.get("/portal/systems/no-such-system/").status_code == 404


def test_a_granted_system_lists_its_issued_reports_with_hashes(portal: Client, data: PortalData) -> None:
    page = portal.get(f"/portal/systems/{GRANTED}/").content.decode()

    assert data.granted.report_id in page
    assert data.granted.content_hash[:12] in page
    assert data.granted.file_sha256[:12] in page
    assert f"ledger #{data.granted.as_of_seq}" in page
    assert data.expired.report_id not in page


def test_an_auditor_downloads_a_granted_report_and_the_download_is_logged(portal: Client, data: PortalData) -> None:
    response = portal.get(f"/portal/reports/{data.granted.report_id}/download", HTTP_USER_AGENT="pytest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == _pdf(data.granted)
    download = ReportDownload.objects.get(report=data.granted)
    assert (download.actor, download.channel, download.user_agent) == ("olga.auditor", "portal", "pytest")
    assert abs((timezone.now() - download.at).total_seconds()) < 60


def test_an_auditor_cannot_download_a_report_of_a_system_whose_grant_expired(portal: Client, data: PortalData) -> None:
    response = portal.get(f"/portal/reports/{data.expired.report_id}/download")

    assert response.status_code == 404
    assert not ReportDownload.objects.filter(report=data.expired).exists()


def test_a_revoked_grant_closes_the_system_at_once(portal: Client, data: PortalData) -> None:
    AuditorGrant.objects.filter(system__slug=GRANTED).update(revoked_at=timezone.now(), revoked_by="ana")

    assert portal.get(f"/portal/systems/{GRANTED}/").status_code == 404
    assert portal.get(f"/portal/reports/{data.granted.report_id}/download").status_code == 404
    assert b"Credit scoring" not in portal.get("/portal/").content


def test_a_grant_closes_the_system_once_its_expiry_has_passed(portal: Client, data: PortalData) -> None:
    AuditorGrant.objects.filter(system__slug=GRANTED).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = portal.get(f"/portal/reports/{data.granted.report_id}/download")

    assert response.status_code == 404
    assert not ReportDownload.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/ui/",
        f"/ui/systems/{GRANTED}/",
        "/ui/search?q=credit",
        "/ui/lineage",
        "/admin/",
        "/admin/catalog/aisystem/",
        "/reports/",
        "/reports/verify/",
        "/api/v1/namespaces",
        "/api/v1/lineage?nodeId=dataset:s3://x:y",
        "/api/v1/search?q=credit",
    ],
)
def test_an_auditor_is_refused_outside_the_portal(bare_auditor: Client, url: str) -> None:
    response = bare_auditor.get(url, follow=False)

    # 403, or a redirect to a sign-in page (the admin's answer to a user who is not staff); never data.
    assert response.status_code in (302, 401, 403), (url, response.status_code)
    if response.status_code == 302:
        assert "login" in response["Location"]


def test_an_auditor_cannot_reach_staff_report_pages_even_for_a_granted_report(portal: Client, data: PortalData) -> None:
    for url in (f"/reports/{data.granted.report_id}/", f"/reports/{data.granted.report_id}/download"):
        response = portal.get(url)

        assert response.status_code in (302, 403), url
        assert not ReportDownload.objects.exists()


def test_the_portal_verifies_a_genuine_report_and_shows_every_check(portal: Client, data: PortalData) -> None:
    response = portal.post("/portal/verify/", _upload(_pdf(data.granted)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Verified: genuine and matching the ledger" in page
    for check in ("attachments", "content hash", "ledger head", "text", "rebuild", "issuance"):
        assert f"<td>{check}</td>" in page
    assert "✗ failed" not in page


def test_the_portal_names_what_a_tampered_report_changed(portal: Client, data: PortalData) -> None:
    response = portal.post("/portal/verify/", _upload(edit_text(_pdf(data.granted), 0)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Not verified" in page
    assert '<tr class="fail"><td>✗ failed</td><td>text</td>' in page


def test_the_portal_refuses_to_check_another_systems_report(portal: Client, data: PortalData) -> None:
    response = portal.post("/portal/verify/", _upload(_pdf(data.expired)))

    page = response.content.decode()
    assert "does not belong to a system you were granted" in page
    assert data.expired.report_id not in page
    assert data.expired.content_hash not in page


def test_the_portal_refuses_a_report_relabelled_as_a_granted_system(portal: Client, data: PortalData) -> None:
    forged = replace_attachment(_pdf(data.expired), MANIFEST_NAME, f'"{EXPIRED}"'.encode(), f'"{GRANTED}"'.encode())

    response = portal.post("/portal/verify/", _upload(forged))

    assert "does not belong to a system you were granted" in response.content.decode()
    assert data.expired.content_hash not in response.content.decode()


def test_an_upload_that_is_not_a_pdf_gets_a_clear_error(bare_auditor: Client) -> None:
    response = bare_auditor.post("/portal/verify/", _upload(b"hello, not a report"))

    assert response.status_code == 400
    assert b"This is not a PDF file." in response.content


def test_an_upload_of_another_content_type_gets_a_clear_error(bare_auditor: Client) -> None:
    response = bare_auditor.post("/portal/verify/", _upload(b"%PDF-1.7 ...", content_type="text/html"))

    assert response.status_code == 400
    assert b"Upload a PDF file (this one was sent as text/html)." in response.content


def test_an_upload_over_the_size_limit_gets_a_clear_error(bare_auditor: Client) -> None:
    with mock.patch("reports.portal.MAX_UPLOAD_BYTES", 1024):
        response = bare_auditor.post("/portal/verify/", _upload(b"%PDF-" + b"0" * 2048))

    assert response.status_code == 400
    assert b"larger than" in response.content


def test_a_request_body_over_the_size_limit_is_refused_before_it_is_read(bare_auditor: Client) -> None:
    response = bare_auditor.post(
        "/portal/verify/", b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(200 * 1024 * 1024)
    )

    assert response.status_code == 413
    assert b"larger than 50 MB" in response.content


def test_a_pdf_that_is_not_a_report_fails_verification_with_a_reason(bare_auditor: Client) -> None:
    response = bare_auditor.post("/portal/verify/", _upload(b"%PDF-1.7\n%%EOF\n"))

    assert response.status_code == 200
    assert b"Not verified" in response.content


# --- Doors ------------------------------------------------------------------------------------


def test_staff_and_anonymous_are_sent_to_their_doors() -> None:
    anonymous = Client().get(f"/portal/systems/{GRANTED}/")
    staff = Client()
    staff.force_login(_user(user_create(username="vic", role=VIEWER).username))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/portal/login/")
    assert staff.get("/portal/")["Location"] == "/ui/"


def test_a_signed_in_user_with_no_role_is_refused_by_the_portal() -> None:
    client = Client()
    client.force_login(get_user_model().objects.create_user("nobody", password="x"))

    assert client.get("/portal/").status_code == 403


def test_an_auditor_signs_in_at_the_portal_login_and_lands_on_the_portal() -> None:
    created = user_create(username="ines", role=AUDITOR)
    client = Client()

    response = client.post("/portal/login/", {"username": "ines", "password": created.password})

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_a_steward_signing_in_at_the_portal_lands_on_the_staff_ui() -> None:
    created = user_create(username="sam", role=STEWARD)

    response = Client().post("/portal/login/", {"username": "sam", "password": created.password})

    assert response["Location"] == "/ui/"


def test_portal_sign_in_does_not_follow_a_next_url_off_site() -> None:
    created = user_create(username="ines", role=AUDITOR)

    response = Client().post(
        "/portal/login/", {"username": "ines", "password": created.password, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/portal/"


def test_a_wrong_password_at_the_portal_says_so_and_signs_nobody_in() -> None:
    user_create(username="ines", role=AUDITOR)
    client = Client()

    response = client.post("/portal/login/", {"username": "ines", "password": "wrong"})

    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content
    assert client.get("/portal/").status_code == 302


def test_signing_out_of_the_portal_ends_the_session(bare_auditor: Client) -> None:
    response = bare_auditor.post("/portal/logout/")

    assert response["Location"] == "/portal/login/"
    assert bare_auditor.get("/portal/").status_code == 302


def test_guessing_an_auditors_password_at_the_portal_is_cut_off(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    created = user_create(username="ines", role=AUDITOR)
    client = Client(REMOTE_ADDR="192.0.2.9")
    for _ in range(3):
        client.post("/portal/login/", {"username": "ines", "password": "guess"})

    response = client.post("/portal/login/", {"username": "ines", "password": created.password})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
