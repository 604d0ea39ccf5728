"""The staff pages through the test client: who gets in, what they show, what they refuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import AISystem, Finding, FindingStatus
from lineage.models import Dataset, Job, LedgerEntry, Run

pytestmark = pytest.mark.django_db

TRAIN = "dataset:s3://factory-features-eu:credit/train"


def _pages() -> list[str]:
    dataset = Dataset.objects.get(name="credit/train")
    job = Job.objects.get(name="train.credit_scoring")
    run = Run.objects.filter(job=job).first()
    finding = Finding.objects.filter(status=FindingStatus.OPEN).first()
    return [
        "/ui/",
        "/ui/search?q=credit",
        f"/ui/datasets/{dataset.pk}/",
        f"/ui/jobs/{job.pk}/",
        f"/ui/runs/{run.run_id}/",
        "/ui/systems/credit-scoring/",
        f"/ui/lineage?node={TRAIN}",
        "/ui/findings",
        f"/ui/findings/{finding.pk}/",
        "/reports/",
    ]


def test_every_staff_page_renders_for_a_viewer(demo, viewer: Client) -> None:
    for url in _pages():
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert b"<title>" in response.content


def test_signed_out_visitors_are_sent_to_sign_in_and_non_staff_refused(demo) -> None:
    from django.contrib.auth import get_user_model

    outsider = Client()
    outsider.force_login(get_user_model().objects.create_user("nobody"))
    for url in _pages():
        assert Client().get(url).status_code == 302, url
        assert "login" in Client().get(url)["Location"]
        # Our pages refuse a signed-in non-staff user; the reports pages use the admin's staff
        # check, which sends them to the staff sign-in instead.
        assert outsider.get(url).status_code == (403 if url.startswith("/ui/") else 302), url


def test_the_dashboard_shows_charts_and_the_demo_figures(demo, viewer: Client) -> None:
    response = viewer.get("/ui/")

    body = response.content.decode()
    assert body.count('<svg class="chart"') == 5
    assert "Open findings by severity" in body
    assert "Energy by AI system" in body
    assert f">{LedgerEntry.objects.filter(kind='event').count()}<" in body
    assert "Consumer credit scoring" in body  # energy by system


def test_search_finds_datasets_jobs_and_systems(demo, viewer: Client) -> None:
    body = viewer.get("/ui/search", {"q": "credit"}).content.decode()

    assert "credit/train" in body
    assert "train.credit_scoring" in body
    assert "Consumer credit scoring" in body
    assert "<script>" not in viewer.get("/ui/search", {"q": "<script>"}).content.decode()


def test_the_dataset_page_shows_per_column_classification_and_jurisdiction(demo, viewer: Client) -> None:
    dataset = Dataset.objects.get(name="lending.public.loan_applications")

    body = viewer.get(f"/ui/datasets/{dataset.pk}/").content.decode()

    assert "iban" in body
    assert "financial" in body
    assert 'class="tag pii"' in body
    assert ">DE<" in body


def test_the_explorer_data_marks_pii_jurisdiction_and_system_roles(demo, viewer: Client) -> None:
    data = viewer.get("/ui/lineage.json", {"node": TRAIN, "up": 6, "down": 4}).json()

    nodes = {n["id"]: n for n in data["nodes"]}
    assert data["root"] == TRAIN
    assert not data["truncated"]
    assert nodes[TRAIN]["role"] == "training_data"
    assert nodes["dataset:s3://enrichment-us-east-1:demographics/by_postcode.parquet"]["jurisdictions"] == ["US"]
    assert any(n["pii"] for n in nodes.values())
    assert {n["kind"] for n in nodes.values()} == {"dataset", "job"}
    assert all(e["from"] in nodes and e["to"] in nodes for e in data["edges"])


def test_the_explorer_answers_as_of_an_earlier_sequence(demo, viewer: Client) -> None:
    loans = Dataset.objects.get(name="lending.public.loan_applications")
    node = "dataset:postgres://loans-db.fra.internal:5432:lending.public.loan_applications"

    now = viewer.get("/ui/lineage.json", {"node": node, "up": 6, "down": 6}).json()
    then = viewer.get("/ui/lineage.json", {"node": node, "up": 6, "down": 6, "asOfSeq": loans.first_seq}).json()

    assert then["asOfSeq"] == loans.first_seq
    assert len(then["nodes"]) < len(now["nodes"])


def test_the_explorer_column_level_lists_fields(demo, viewer: Client) -> None:
    data = viewer.get("/ui/lineage.json", {"node": TRAIN, "level": "column", "up": 3, "down": 3}).json()

    assert data["nodes"]
    assert all(n["kind"] == "datasetField" for n in data["nodes"])


def test_an_unknown_node_is_a_clear_404(demo, viewer: Client) -> None:
    response = viewer.get("/ui/lineage.json", {"node": "dataset:s3://nowhere:nothing"})

    assert response.status_code == 404
    assert "message" in response.json()


def test_findings_filter_by_system_severity_and_status(demo, viewer: Client) -> None:
    high = viewer.get("/ui/findings", {"system": "credit-scoring", "severity": "high"}).content.decode()
    expected = Finding.objects.filter(system__slug="credit-scoring", severity="high", status="open").count()

    assert f"{expected} finding" in high
    assert "factory-assistant" not in high.split("<tbody>")[1] if "<tbody>" in high else True


def test_a_steward_waives_a_finding_with_reason_and_expiry(demo, steward: Client) -> None:
    finding = Finding.objects.filter(status=FindingStatus.OPEN).first()
    expires = (timezone.now() + timedelta(days=30)).date()

    response = steward.post(
        f"/ui/findings/{finding.pk}/waive",
        {"reason": "Accepted until the EU mirror is live", "expires_on": expires.isoformat()},
    )

    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.status, finding.waived_by, finding.waiver_reason) == (
        "waived",
        "steward-user",
        "Accepted until the EU mirror is live",
    )
    assert LedgerEntry.objects.filter(kind="governance", payload__contains='"finding.waived"').exists()


def test_a_waiver_without_reason_or_with_a_past_expiry_is_refused(demo, steward: Client) -> None:
    finding = Finding.objects.filter(status=FindingStatus.OPEN).first()

    no_reason = steward.post(f"/ui/findings/{finding.pk}/waive", {"reason": "", "expires_on": "2999-01-01"})
    past = steward.post(f"/ui/findings/{finding.pk}/waive", {"reason": "x", "expires_on": "2000-01-01"})

    assert no_reason.status_code == past.status_code == 400
    assert b"The expiry must be in the future." in past.content
    finding.refresh_from_db()
    assert finding.status == "open"


def test_a_viewer_cannot_waive_or_recheck(demo, viewer: Client) -> None:
    finding = Finding.objects.filter(status=FindingStatus.OPEN).first()

    waive = viewer.post(f"/ui/findings/{finding.pk}/waive", {"reason": "x", "expires_on": "2999-01-01"})
    recheck = viewer.post(f"/ui/findings/{finding.pk}/recheck")

    assert waive.status_code == recheck.status_code == 403
    finding.refresh_from_db()
    assert finding.status == "open"
    assert b"Waive finding" not in viewer.get(f"/ui/findings/{finding.pk}/").content


def test_a_viewer_cannot_issue_a_report(demo, viewer: Client) -> None:
    response = viewer.post("/reports/", {"system": "credit-scoring", "kind": "annex-iv"})

    assert response.status_code == 403


def test_the_system_page_lists_components_energy_and_findings(demo, viewer: Client) -> None:
    system = AISystem.objects.get(slug="credit-scoring")

    body = viewer.get(f"/ui/systems/{system.slug}/").content.decode()

    assert "Training data" in body
    assert "credit/train" in body
    assert "kWh" in body
    assert "data-residency" in body


def test_list_pages_use_a_bounded_number_of_queries(demo, viewer: Client, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(25):
        viewer.get("/ui/findings")
    with django_assert_max_num_queries(30):
        viewer.get("/ui/")


def test_the_root_sends_staff_to_the_dashboard_auditors_to_the_portal_and_others_to_sign_in(demo, viewer) -> None:
    from django.contrib.auth import get_user_model

    auditor = Client()
    auditor.force_login(get_user_model().objects.create_user("ann.auditor"))

    assert viewer.get("/")["Location"] == "/ui/"
    assert auditor.get("/")["Location"] == "/portal/"
    assert Client().get("/")["Location"].startswith("/admin/login/")


def test_staff_pages_never_write(demo, viewer: Client) -> None:
    head = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    findings = list(Finding.objects.order_by("pk").values_list("pk", "status", "updated_at"))

    for url in _pages():
        viewer.get(url)
    viewer.get("/ui/lineage.json", {"node": TRAIN, "up": 6, "down": 6})

    assert LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() == head
    assert list(Finding.objects.order_by("pk").values_list("pk", "status", "updated_at")) == findings


def test_a_steward_issues_a_report_from_the_system_page_and_sees_its_progress(demo, steward: Client) -> None:
    system_page = steward.get("/ui/systems/credit-scoring/").content.decode()
    assert 'action="/reports/"' in system_page
    assert "Annex IV technical documentation" in system_page

    response = steward.post("/reports/", {"system": "credit-scoring", "kind": "annex-iv"})

    from reports.models import Report

    report = Report.objects.get(system__slug="credit-scoring")
    assert response["Location"] == f"/reports/{report.report_id}/"
    detail = steward.get(response["Location"]).content.decode()
    assert f'data-progress-url="/reports/{report.report_id}/progress"' in detail
    assert '<progress id="progress-bar"' in detail
    assert report.report_id in steward.get("/ui/systems/credit-scoring/").content.decode()


def test_a_viewer_sees_no_issue_form_on_the_system_page(demo, viewer: Client) -> None:
    body = viewer.get("/ui/systems/credit-scoring/").content.decode()

    assert "Issue report" not in body


def test_the_reports_list_shows_as_of_hashes_and_a_download_link(demo, viewer: Client) -> None:
    from reports.services import report_as_of_seq, report_issue

    report = report_issue(
        system_slug="credit-scoring", kind="data-governance", as_of_seq=report_as_of_seq(), requested_by="ana"
    )

    body = viewer.get("/reports/").content.decode()

    assert f"ledger #{report.as_of_seq}" in body
    assert f'title="sha256:{report.content_hash}"' in body
    assert f'title="sha256:{report.file_sha256}"' in body
    assert f'href="/reports/{report.report_id}/download"' in body


def test_the_findings_list_query_count_does_not_grow_with_findings(
    demo, viewer: Client, django_assert_max_num_queries
) -> None:
    from catalog.models import Policy

    policy = Policy.objects.first()
    system = AISystem.objects.first()
    Finding.objects.bulk_create(
        Finding(
            policy=policy,
            policy_key=policy.key,
            system=system,
            subject=f"dataset:s3://bulk:d{i}",
            item=f"dataset:s3://bulk:d{i}",
            severity="low",
            message=f"bulk finding {i}",
            evaluated_seq=1,
            opened_seq=1,
        )
        for i in range(200)
    )

    with django_assert_max_num_queries(25):
        response = viewer.get("/ui/findings", {"status": ""})

    assert "bulk finding 199" in response.content.decode()


def test_the_finding_page_links_each_step_of_its_evidence_path(demo, viewer: Client) -> None:
    finding = Finding.objects.get(policy_key="data-residency", item__contains="by_postcode")
    train = Dataset.objects.get(name="credit/train")

    body = viewer.get(f"/ui/findings/{finding.pk}/").content.decode()

    assert f'<a href="/ui/datasets/{train.pk}/">dataset:s3://factory-features-eu:credit/train</a>' in body
    assert '<a href="/ui/systems/credit-scoring/">system:credit-scoring</a>' in body
    assert "highlight=dataset%3As3%3A//enrichment-us-east-1" in body


def test_a_steward_re_runs_a_check_which_is_queued_after_commit(
    demo, steward: Client, django_capture_on_commit_callbacks
) -> None:
    finding = Finding.objects.filter(status=FindingStatus.OPEN, system__isnull=False).first()

    with django_capture_on_commit_callbacks() as queued:
        response = steward.post(f"/ui/findings/{finding.pk}/recheck")

    assert response.status_code == 302
    assert len(queued) == 1


def test_the_explorer_answers_as_of_a_timestamp(demo, viewer: Client) -> None:
    now = viewer.get("/ui/lineage.json", {"node": TRAIN, "up": 6, "down": 6}).json()
    later = viewer.get("/ui/lineage.json", {"node": TRAIN, "up": 6, "down": 6, "asOf": "2999-01-01T00:00:00"}).json()
    before = viewer.get("/ui/lineage.json", {"node": TRAIN, "asOf": "2000-01-01T00:00:00"})

    assert {n["id"] for n in later["nodes"]} == {n["id"] for n in now["nodes"]}
    assert before.status_code == 404
    assert "message" in before.json()


def test_the_admin_carries_tracemark_branding_and_links_to_the_staff_pages(demo, viewer: Client) -> None:
    body = viewer.get("/admin/").content.decode()

    assert "Tracemark administration" in body
    assert "tracemark/admin.css" in body
    assert 'href="/ui/findings"' in body
    assert "Tracemark administration" in Client().get("/admin/login/").content.decode()
