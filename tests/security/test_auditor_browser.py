"""The auditor portal in a real browser: Debian's Chromium driven by Playwright against a live server.

An auditor signs in at /portal/login/, sees only the system granted to them, downloads its report
(the download is logged), uploads it to be verified and sees it pass, and is refused at /ui/,
/admin/ and the other system's page. Screenshots land in var/screenshots/portal-*.png.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.models import ReportDownload
from tests.security.portal_data import EXPIRED, GRANTED, PortalData, portal_data_build

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Verifying re-renders the PDF and rebuilds its evidence: seconds, more on a loaded machine.
VERIFY_TIMEOUT_MS = 180_000
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium when run as root)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls between browser
    # steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def data(transactional_db: None) -> PortalData:
    return portal_data_build()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"portal-{name}.png"), full_page=True)


def _sign_in(page, base: str, data: PortalData) -> None:
    page.goto(f"{base}/portal/login/")
    page.get_by_label("Username").fill(data.auditor.get_username())
    page.get_by_label("Password").fill(data.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/portal/")


def _axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — e.g. {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


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
    _shot(page, "login")
    _sign_in(page, base, data)
    _shot(page, "home")
    systems = page.locator("main table tbody tr")
    assert systems.count() == 1
    assert "Credit scoring" in systems.inner_text()
    assert "Factory assistant" not in page.content()

    page.get_by_role("link", name="Credit scoring").click()
    page.wait_for_url(f"{base}/portal/systems/{GRANTED}/")
    assert data.granted.report_id in page.inner_text("main")
    _shot(page, "system")
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
    _shot(page, "verified")
    assert _axe_serious(page) == []
    assert problems == []

    for url in ("/ui/", "/admin/", f"/portal/systems/{EXPIRED}/", f"/portal/reports/{data.expired.report_id}/download"):
        response = page.goto(base + url)
        # Refused outright, or sent to the staff sign-in page; never the page itself.
        assert response.status in (403, 404) or "/login/" in page.url, (url, response.status, page.url)
        assert data.expired.report_id not in page.content()
    _shot(page, "refused")
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
    _shot(page, "home-narrow")
    page.goto(f"{live_server.url}/portal/verify/")
    page.get_by_label("Report PDF").set_input_files(str(tampered))
    page.get_by_role("button", name="Verify").click(timeout=VERIFY_TIMEOUT_MS)
    page.get_by_role("status").wait_for(timeout=VERIFY_TIMEOUT_MS)

    assert "Not verified" in page.get_by_role("status").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    _shot(page, "tampered-narrow")
    assert _axe_serious(page) == []
    context.close()
