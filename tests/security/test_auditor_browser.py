"""The auditor portal in a real browser: Debian's Chromium driven by Playwright against a live server.

An auditor signs in at /portal/login/, sees only the system granted to them, downloads its report
(the download is logged), uploads it to be verified and sees it pass, and is refused at /ui/,
/admin/ and the other system's page. Screenshots land in var/screenshots/portal-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.models import ReportDownload
from tests.browser import DESKTOP, NARROW, axe_serious, chromium, screenshot
from tests.security.portal_data import EXPIRED, GRANTED, PortalData, portal_data_build

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]

# Verifying re-renders the PDF and rebuilds its evidence: seconds, more on a loaded machine.
VERIFY_TIMEOUT_MS = 180_000


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    yield from chromium(monkeypatch)


@pytest.fixture
def data(transactional_db: None) -> PortalData:
    return portal_data_build()


def _sign_in(page, base: str, data: PortalData) -> None:
    page.goto(f"{base}/portal/login/")
    page.get_by_label("Username").fill(data.auditor.get_username())
    page.get_by_label("Password").fill(data.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/portal/")


def test_an_auditor_signs_in_downloads_and_verifies_a_report_and_is_refused_elsewhere(
    live_server, browser, data: PortalData, tmp_path: Path
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    page.goto(f"{base}/portal/login/")
    screenshot(page, "portal-login", full_page=True)
    _sign_in(page, base, data)
    screenshot(page, "portal-home", full_page=True)
    systems = page.locator("main table tbody tr")
    assert systems.count() == 1
    assert "Credit scoring" in systems.inner_text()
    assert "Factory assistant" not in page.content()

    page.get_by_role("link", name="Credit scoring").click()
    page.wait_for_url(f"{base}/portal/systems/{GRANTED}/")
    assert data.granted.report_id in page.inner_text("main")
    screenshot(page, "portal-system", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download PDF {data.granted.report_id}").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    download = ReportDownload.objects.get(report=data.granted)
    assert (download.actor, download.channel) == (data.auditor.get_username(), "portal")

    page.get_by_role("link", name="Verify a report").first.click()
    page.wait_for_url(f"{base}/portal/verify/")
    page.get_by_label("Report PDF").set_input_files(str(saved))
    page.get_by_role("button", name="Verify").click(timeout=VERIFY_TIMEOUT_MS)
    verdict = page.get_by_role("status")
    verdict.wait_for(timeout=VERIFY_TIMEOUT_MS)
    assert "Verified: genuine and matching the ledger" in verdict.inner_text()
    assert "✗" not in verdict.inner_text()
    screenshot(page, "portal-verified", full_page=True)
    assert axe_serious(page) == []
    assert problems == []

    for url in ("/ui/", "/admin/", f"/portal/systems/{EXPIRED}/", f"/portal/reports/{data.expired.report_id}/download"):
        response = page.goto(base + url)
        # Refused outright, or sent to the staff sign-in page; never the page itself.
        assert response.status in (403, 404) or "/login/" in page.url, (url, response.status, page.url)
        assert data.expired.report_id not in page.content()
    screenshot(page, "portal-refused", full_page=True)
    context.close()


def test_the_portal_reads_well_on_a_narrow_screen_and_shows_a_failed_check(
    live_server, browser, data: PortalData, tmp_path: Path
) -> None:
    from reports.models import Report
    from tests.reports.tamper import edit_text

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(edit_text(bytes(Report.objects.values_list("pdf", flat=True).get(pk=data.granted.pk)), 0))
    context = browser.new_context(viewport=NARROW)
    page = context.new_page()

    _sign_in(page, live_server.url, data)
    screenshot(page, "portal-home-narrow", full_page=True)
    page.goto(f"{live_server.url}/portal/verify/")
    page.get_by_label("Report PDF").set_input_files(str(tampered))
    page.get_by_role("button", name="Verify").click(timeout=VERIFY_TIMEOUT_MS)
    page.get_by_role("status").wait_for(timeout=VERIFY_TIMEOUT_MS)

    assert "Not verified" in page.get_by_role("status").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "portal-tampered-narrow", full_page=True)
    assert axe_serious(page) == []
    context.close()
