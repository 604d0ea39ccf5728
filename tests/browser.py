"""Real-browser helpers shared by the page tests: Debian's Chromium driven by Playwright.

``chromium(monkeypatch)`` is the body of each suite's ``browser`` fixture; ``axe_serious`` lists
the serious and critical axe-core violations of a page; ``screenshot`` saves one under
var/screenshots/ (CI keeps them as artifacts).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium when run as root)")
    return found


def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A launched Chromium for one test; every database connection is closed afterwards."""
    executable = chromium_or_skip()
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between
    # browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()
        # ORM calls made between browser steps leave an open session behind on PostgreSQL (seen:
        # "test_tracemark is being accessed by other users" at teardown): close every connection.
        connections.close_all()


def screenshot(page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s), e.g. {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
