"""The staff pages in a real browser: Debian's Chromium driven by Playwright against a live server.

A steward signs in, finds a dataset, opens its lineage, expands a node, follows it to a finding and
waives it; the explorer draws a 500-node graph; the main pages have no console errors, no CSP
violations and no serious or critical axe-core violations, at 1280x800 and on a narrow screen.
Screenshots land in var/screenshots/ (CI keeps them as artifacts).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from catalog.models import Finding, FindingStatus
from catalog.roles import STEWARD, user_create
from lineage.services import events_ingest
from tests.browser import DESKTOP, NARROW, axe_serious, chromium, screenshot
from tests.factories import dataset, run_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def browser(live_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    yield from chromium(monkeypatch)


@pytest.fixture(autouse=True)
def memory_broker() -> Iterator[None]:
    """Queue tasks in this process's memory: a test plays the worker, and the broker of the
    developer's own ``make run`` (the default filesystem one under var/) never sees test tasks."""
    from kombu import pools as kombu_pools

    from config.celery import app

    def fresh_pools() -> None:
        # Celery keeps a connection pool, and kombu a producer pool per broker URL: start both anew.
        kombu_pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url, app.conf.broker_transport_options = "memory://", {}
    fresh_pools()
    yield
    fresh_pools()
    app.conf.broker_url, app.conf.broker_transport_options = previous


@pytest.fixture
def steward_login(db: None) -> tuple[str, str]:
    created = user_create(username="sam.steward", role=STEWARD)
    return created.username, created.password


class Watch:
    """Collects what a page should never show: console errors, CSP violations, failed requests."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None
            ),
        )


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")  # → the staff sign-in page
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/ui/")


def test_a_steward_finds_a_dataset_follows_its_lineage_to_a_finding_and_waives_it(
    live_server, browser, steward_login
) -> None:
    call_command("seed_demo")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(page)
    base = live_server.url

    _sign_in(page, base, *steward_login)
    screenshot(page, "dashboard")
    page.goto(f"{base}/admin/")
    screenshot(page, "admin")
    page.goto(f"{base}/ui/")
    page.fill("#site-search", "by_postcode")
    page.press("#site-search", "Enter")
    page.click("text=demographics/by_postcode.parquet")
    page.wait_for_selector("h1:has-text('demographics/by_postcode.parquet')")
    screenshot(page, "dataset")

    page.click("text=Open lineage")
    page.wait_for_selector("#graph[data-ready=true]")
    page.fill("#down", "1")  # one step downstream, then grow it by hand
    page.click("button:has-text('Show')")
    page.wait_for_selector("#graph[data-ready=true]")
    assert page.locator("g.node[data-id='job:ml://factory-eu:train.credit_scoring']").count() == 0
    before = page.locator("g.node").count()
    training = page.locator("g.node[data-id='dataset:s3://factory-features-eu:credit/train']")
    training.focus()
    page.keyboard.press("d")  # expand downstream from the training data
    page.locator("g.node").nth(before).wait_for(state="attached")  # one more node than before
    assert page.locator("g.node[data-id='job:ml://factory-eu:train.credit_scoring']").count() == 1
    screenshot(page, "lineage")

    page.locator("g.node[data-id='dataset:s3://enrichment-us-east-1:demographics/by_postcode.parquet']").click()
    page.click("#selection >> text=Open page")
    page.click("a:has-text('lives in US, outside EU')")
    page.wait_for_selector("h1:has-text('allowed jurisdictions')")
    screenshot(page, "finding")
    finding_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    page.fill("#id_reason", "Accepted until the EU mirror of the enrichment data is live")
    page.fill("#id_expires_on", (datetime.now(tz=UTC) + timedelta(days=60)).date().isoformat())
    page.click("button:has-text('Waive finding')")
    page.wait_for_selector("text=Finding waived until")

    finding = Finding.objects.get(pk=finding_id)
    assert finding.status == FindingStatus.WAIVED
    assert finding.waived_by == "sam.steward"
    assert finding.waiver_reason == "Accepted until the EU mirror of the enrichment data is live"
    page.click("text=Show the path on the lineage graph")
    page.wait_for_selector("#graph[data-ready=true]")
    assert page.locator("g.node.hl").count() >= 3  # the evidence path is marked on the graph
    screenshot(page, "finding-path")
    assert watch.problems == []


def _wide_factory(layers: int = 10, width: int = 25) -> str:
    """An AI-factory-shaped graph of ~500 nodes: each job joins two datasets of the layer before."""
    events = []
    for layer in range(1, layers):
        for i in range(width):
            inputs = [dataset(namespace="s3://lake", name=f"l{layer - 1}/d{j}") for j in (i, (i + 1) % width)]
            events.append(
                run_event(
                    namespace="airflow://factory",
                    job=f"step{layer}.job{i}",
                    inputs=inputs,
                    outputs=[dataset(namespace="s3://lake", name=f"l{layer}/d{i}")],
                )
            )
    events.append(
        run_event(
            namespace="ml://factory",
            job="train.big_model",
            inputs=[dataset(namespace="s3://lake", name=f"l{layers - 1}/d{i}") for i in range(width)],
            outputs=[dataset(namespace="mlflow://models", name="big-model/1")],
        )
    )
    outcome = events_ingest(events=events)
    assert all(r.status == "accepted" for r in outcome.results)
    return "dataset:mlflow://models:big-model/1"


def test_the_explorer_draws_a_500_node_graph(live_server, browser, steward_login) -> None:
    root = _wide_factory()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(page)
    _sign_in(page, live_server.url, *steward_login)

    page.goto(f"{live_server.url}/ui/lineage?node={root}&up=20&down=0")
    page.wait_for_selector("#graph[data-ready=true]", timeout=60_000)

    drawn = page.locator("g.node").count()
    assert drawn == 10 * 25 + 9 * 25 + 2  # every dataset and job upstream of the model, and the model
    assert page.locator("path.edge").count() >= 9 * 25 * 3
    page.mouse.move(600, 450)
    page.mouse.wheel(0, -400)  # zoom in: still responsive
    page.locator(f"g.node[data-id='{root}']").focus()
    page.keyboard.press("ArrowLeft")  # to the model's input: the training job
    assert page.evaluate("document.activeElement.dataset.id") == "job:ml://factory:train.big_model"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.dataset.id").startswith("dataset:s3://lake:l9/")
    page.click("button:has-text('Fit')")
    assert "truncated" not in page.locator("#status").inner_text()
    screenshot(page, "lineage-500")
    assert watch.problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, NARROW], ids=["desktop", "narrow"])
def test_the_main_pages_have_no_serious_accessibility_violations(live_server, browser, steward_login, viewport) -> None:
    call_command("seed_demo")
    from lineage.models import Dataset, Job, Run

    dataset = Dataset.objects.get(name="lending.public.loan_applications")
    job = Job.objects.get(name="train.credit_scoring")
    run = Run.objects.filter(job=job).order_by("first_seq").first()
    finding = Finding.objects.filter(status=FindingStatus.OPEN).first()
    pages = {
        "dashboard": "/ui/",
        "search": "/ui/search?q=credit",
        "dataset": f"/ui/datasets/{dataset.pk}/",
        "job": f"/ui/jobs/{job.pk}/",
        "run": f"/ui/runs/{run.run_id}/",
        "column-lineage": "/ui/lineage?node=dataset:s3://factory-features-eu:credit/features_v3&level=column",
        "system": "/ui/systems/credit-scoring/",
        "lineage": "/ui/lineage?node=dataset:s3://factory-features-eu:credit/train",
        "findings": "/ui/findings",
        "finding": f"/ui/findings/{finding.pk}/",
        "reports": "/reports/",
    }
    # axe is injected with page.evaluate, which the CSP would otherwise refuse.
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, live_server.url, *steward_login)
    found = {}
    for name, url in pages.items():
        page.goto(live_server.url + url)
        if "lineage" in name:
            page.wait_for_selector("#graph[data-ready=true]")
        if viewport is NARROW:
            screenshot(page, f"narrow-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, f"{name} scrolls sideways on a narrow screen ({width}px)"
        elif name in ("system", "findings", "search", "job", "run", "column-lineage"):
            screenshot(page, name)
        problems = axe_serious(page)
        if problems:
            found[name] = problems

    assert found == {}


def test_pages_keep_their_content_security_policy(live_server, browser, steward_login) -> None:
    call_command("seed_demo")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    _sign_in(page, live_server.url, *steward_login)

    for url in ("/ui/", "/ui/lineage?node=dataset:s3://factory-features-eu:credit/train", "/ui/findings", "/reports/"):
        response = page.goto(live_server.url + url)
        assert "script-src 'self'" in response.headers["content-security-policy"]

    assert violations == []


def test_a_steward_issues_a_report_from_the_system_page_and_watches_it_complete(
    live_server, browser, steward_login
) -> None:
    from reports.models import Report
    from reports.tasks import report_issue

    call_command("seed_demo")
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    watch = Watch(page)
    _sign_in(page, live_server.url, *steward_login)

    page.goto(f"{live_server.url}/ui/systems/credit-scoring/")
    page.select_option("#kind", "data-governance")
    page.click("button:has-text('Issue report')")
    page.wait_for_selector("h1:has-text('Article 10 data-governance report')")
    assert page.locator("#progress-bar").count() == 1  # queued: the page polls for progress
    report = Report.objects.get(system__slug="credit-scoring", kind="data-governance")
    assert report.status == Report.Status.QUEUED

    report_issue.apply(kwargs={"report_pk": report.pk})  # what the worker does with the queued task
    page.wait_for_selector("text=Download PDF", timeout=30_000)  # the page reloaded by itself
    report.refresh_from_db()
    assert report.status == Report.Status.ISSUED
    assert page.locator(f"text=sha256:{report.content_hash}").count() == 1

    page.goto(f"{live_server.url}/ui/systems/credit-scoring/")
    screenshot(page, "system-full", full_page=True)
    page.goto(f"{live_server.url}/reports/")
    row = page.locator("tr", has=page.locator(f"text={report.report_id}"))
    assert f"ledger #{report.as_of_seq}" in row.inner_text()
    screenshot(page, "reports")
    with page.expect_download() as download:
        row.locator("a:has-text('Download')").click()
    import hashlib
    from pathlib import Path

    assert hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest() == report.file_sha256
    assert report.downloads.filter(actor="sam.steward").count() == 1
    assert watch.problems == []
