"""Every URL pattern x every role, generated from the URL resolver, against an explicit access table.

A route that has no rule in ``RULES`` fails ``test_every_route_has_an_access_rule``: whoever adds a
URL decides here who may use it.

Roles: anonymous, producer (API key), staff (``is_staff`` without any model permission or role),
viewer, steward and auditor (``catalog.roles``; the auditor holds a live grant to system A and an
expired one to system B), and admin (superuser). Beyond the table, every route is walked again with
its parameters pointing at A's and at B's system and report: the auditor gets A's portal pages and
nothing of B anywhere. The portal itself is tested in test_auditor_portal.py.

Expectations: ALLOW — authorised (any answer but 401/403/redirect-to-login; 404/400/405 included,
since they come after the permission check); DENY — 401, 403 or a redirect to the login page;
NOT_OK — anything but a 2xx (e.g. 405, a denial, or the admin's redirect for an object that does not
exist); SIGNED_IN — anything but a redirect to the login page (a superuser on a model page: the
read-only admins answer 403 to add/change/delete even for them). Never a 5xx.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from catalog.models import AISystem, AuditorGrant
from catalog.roles import user_create
from lineage.services import api_key_issue, events_ingest
from tests.factories import run_event

ALLOW, DENY, NOT_OK, SIGNED_IN = "allow", "deny", "not-ok", "signed-in"
ROLES = ("anonymous", "producer", "staff", "viewer", "steward", "auditor", "admin")
STAFF_ROLES = ("staff", "viewer", "steward", "admin")
METHODS = ("GET", "POST")


def _same(expectation: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, expectation)


def _roles(default: str, **by_role: str) -> dict[str, str]:
    return {role: by_role.get(role, default) for role in ROLES}


PUBLIC = {"GET": _same(ALLOW), "POST": _same(NOT_OK)}
STAFF_READ = {
    "GET": _roles(ALLOW, anonymous=DENY, producer=DENY, auditor=DENY),
    "POST": _same(NOT_OK),
}
PRODUCER_WRITE = {
    "GET": _same(NOT_OK),
    "POST": _roles(DENY, producer=ALLOW),
}
STAFF_PAGE = {
    "GET": _roles(ALLOW, anonymous=DENY, producer=DENY, auditor=DENY),
    "POST": _roles(ALLOW, anonymous=DENY, producer=DENY, auditor=DENY),
}
ANYONE = {"GET": _same(ALLOW), "POST": _same(ALLOW)}
# Each model's pages: staff without that model's permissions never get a 2xx (no data shown); the
# viewer and steward see them (what they may change is tested below).
ADMIN_MODEL = {
    method: _roles(SIGNED_IN, anonymous=DENY, producer=DENY, auditor=DENY, staff=NOT_OK) for method in METHODS
}
# Our staff pages read on GET; a POST to them is refused (405) or, signed out, sent to sign in.
UI_PAGE = {
    "GET": _roles(ALLOW, anonymous=DENY, producer=DENY, auditor=DENY),
    "POST": _roles(NOT_OK, anonymous=DENY, producer=DENY, auditor=DENY),
}
# Writes on findings: stewards and administrators only.
UI_FINDING_WRITE = {
    "GET": _roles(NOT_OK, anonymous=DENY, producer=DENY, auditor=DENY),
    "POST": _roles(DENY, steward=ALLOW, admin=ALLOW),
}
# The portal: auditors only; staff are sent to their own pages (no 2xx), others to sign in.
PORTAL_PAGE = {method: _roles(NOT_OK, anonymous=DENY, producer=DENY, auditor=ALLOW) for method in METHODS}
READ_API = [
    *("column-lineage", "namespaces", "namespace", "datasets", "dataset", "dataset-versions", "dataset-version"),
    *("jobs", "job", "job-versions", "job-version", "job-runs", "run", "run-facets", "search", "tags"),
    *("lineage-events", "graph-lineage", "graph-paths", "graph-impact", "graph-column-lineage", "graph-as-of"),
]

# Route name (or, for unnamed routes, the pattern) -> method -> role -> expectation.
RULES: dict[str, dict[str, dict[str, str]]] = {
    "favicon": PUBLIC,
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": PUBLIC,  # keep it off the internet at the proxy (docs/deploy.md)
    "api-schema": PUBLIC,
    "facet-schema": PUBLIC,
    "lineage-batch": PRODUCER_WRITE,
    # GET: the lineage graph (staff); POST: the OpenLineage intake (producer key).
    "lineage": {"GET": STAFF_READ["GET"], "POST": PRODUCER_WRITE["POST"]},
    **dict.fromkeys(READ_API, STAFF_READ),
    "admin:login": ANYONE,
    "admin:logout": {"GET": _same(NOT_OK), "POST": _same(ALLOW)},
    # The admin home and the password change are for every staff member; each model's pages need
    # that model's permissions (the staff role here has none).
    "admin:index": STAFF_PAGE,
    "admin:password_change": STAFF_PAGE,
    "admin:password_change_done": STAFF_PAGE,
    # Without parameters the autocomplete answers 403 even to staff.
    "admin:autocomplete": {m: _roles(NOT_OK, anonymous=DENY, producer=DENY, auditor=DENY) for m in METHODS},
    "admin:jsi18n": STAFF_PAGE,
    "admin:view_on_site": STAFF_PAGE,
    "admin:app_list": ADMIN_MODEL,
    "admin:<catch-all>": STAFF_PAGE,
    "admin:<model pages>": ADMIN_MODEL,
    "admin:reports_report_download": ADMIN_MODEL,  # needs the report view permission
    "home": {m: _roles(ALLOW, anonymous=DENY, producer=DENY) for m in METHODS},  # a redirect to one's door
    **dict.fromkeys(
        ("ui:dashboard", "ui:search", "ui:dataset", "ui:job", "ui:run", "ui:system", "ui:lineage"), UI_PAGE
    ),
    **dict.fromkeys(("ui:lineage-data", "ui:findings", "ui:finding"), UI_PAGE),
    **dict.fromkeys(("ui:finding-waive", "ui:finding-recheck"), UI_FINDING_WRITE),
    # Reports: every staff role reads; issuing (POST to the list) needs reports.add_report.
    "reports:list": {"GET": STAFF_PAGE["GET"], "POST": _roles(DENY, steward=ALLOW, admin=ALLOW)},
    **dict.fromkeys(("reports:verify", "reports:detail", "reports:progress", "reports:download"), STAFF_PAGE),
    "portal:login": ANYONE,
    "portal:logout": {"GET": _same(NOT_OK), "POST": _same(NOT_OK)},  # POST signs out and redirects to sign in
    **dict.fromkeys(("portal:home", "portal:system", "portal:download", "portal:verify"), PORTAL_PAGE),
}
SESSION_ENDING = {"admin:logout", "portal:logout"}
_MODEL_PAGE = re.compile(r"^admin:\w+_\w+_(changelist|add|change|delete|history)$")
SAMPLES = {
    "run_id": str(uuid.uuid4()),
    "version": str(uuid.uuid4()),
    "object_id": "1",
    "content_type_id": "1",
    "pk": "999999",  # resolves, so the permission check runs before the (missing) object is looked up
}


@dataclass(frozen=True)
class Route:
    key: str
    path: str
    regex: str


def _fill(regex: str, values: dict[str, str] | None = None) -> str:
    """A concrete path for a pattern's regex: every named group gets a sample (or the given) value."""
    path = regex.lstrip("^").rstrip("$").replace("\\Z", "").replace("/?", "/")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if values and name in values:
            return values[name]
        return SAMPLES.get(name, "pipelines" if "namespace" in name else "sample")

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", value, path)
    return "/" + path.replace("\\", "")


def _routes(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        regex = prefix + str(entry.pattern.regex.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _routes(entry.url_patterns, regex.rstrip("$").replace("\\Z", ""), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name])) if entry.name else ""
            if not name and namespace == "admin":
                # Unnamed admin routes: the catch-all, and each model's old-style object URL redirect.
                name = "admin:<catch-all>" if "(?P<url>.*)" in regex else "admin:<model pages>"
            elif not name:
                name = regex
            elif _MODEL_PAGE.match(name) or (name.startswith("admin:") and name.endswith("_changelist")):
                name = "admin:<model pages>"
            yield Route(key=name, path=_fill(regex), regex=regex)


def all_routes() -> list[Route]:
    unique: dict[tuple[str, str], Route] = {}
    for route in _routes(get_resolver().url_patterns):
        unique.setdefault((route.key, route.path), route)
    return list(unique.values())


def test_every_route_has_an_access_rule() -> None:
    missing = sorted({r.key for r in all_routes() if r.key not in RULES})

    assert missing == [], "add these routes to RULES in tests/security/test_permission_matrix.py"


def _client(role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role == "producer":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key_issue(name=f'matrix-{uuid.uuid4().hex[:8]}').secret}"
    elif role == "staff":
        client.force_login(get_user_model().objects.create_user(f"staff-{uuid.uuid4().hex[:8]}", is_staff=True))
    elif role in ("viewer", "steward", "auditor"):
        created = user_create(username=f"{role}-{uuid.uuid4().hex[:8]}", role=role)
        user = get_user_model().objects.get(username=created.username)
        if role == "auditor":
            now = timezone.now()
            for slug, expires_at in (("matrix-a", now + timedelta(days=1)), ("matrix-b", now - timedelta(days=1))):
                system = AISystem.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]
                AuditorGrant.objects.create(user=user, system=system, granted_by="matrix", expires_at=expires_at)
        client.force_login(user)
    elif role == "admin":
        client.force_login(
            get_user_model().objects.create_superuser(f"root-{uuid.uuid4().hex[:8]}", "r@example.org", "pw")
        )
    return client


def _is_login_redirect(response) -> bool:
    return response.status_code in (301, 302) and "/login/" in response.get("Location", "")


def _verdict(response) -> str:
    if response.status_code in (401, 403):
        return DENY
    if response.status_code in (301, 302) and "/login/" in response.get("Location", ""):
        return DENY
    return ALLOW


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_what_the_table_allows(role: str) -> None:
    events_ingest(events=[run_event(namespace="pipelines")])
    client = _client(role)
    wrong = []
    for route in all_routes():
        rule = RULES.get(route.key)
        if rule is None:
            continue
        for method in METHODS:
            expected = rule[method][role]
            # Logging out would end the session the other requests of this role rely on.
            sender = _client(role) if route.key in SESSION_ENDING else client
            response = sender.generic(method, route.path, b"", content_type="application/json")
            got = _verdict(response)
            if response.status_code >= 500:
                wrong.append(f"{method} {route.path} [{route.key}]: {response.status_code}")
            elif expected == NOT_OK and 200 <= response.status_code < 300:
                wrong.append(f"{method} {route.path} [{route.key}]: {response.status_code}, expected no success")
            elif expected == SIGNED_IN and _is_login_redirect(response):
                wrong.append(f"{method} {route.path} [{route.key}]: sent to the login page")
            elif expected in (ALLOW, DENY) and got != expected:
                wrong.append(f"{method} {route.path} [{route.key}]: {response.status_code}, expected {expected}")

    assert wrong == [], "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/catalog/governanceassertion/", "/admin/catalog/governancerule/"])
def test_staff_without_permissions_cannot_list_governance_data(path: str) -> None:
    # Regression: these lists once answered has_change_permission=True for obj=None to everyone.
    response = _client("staff").get(path)

    assert not 200 <= response.status_code < 300


@pytest.mark.django_db
def test_a_viewer_can_change_nothing_in_the_admin() -> None:
    from django.contrib import admin

    client = _client("viewer")
    refused = []
    for model in admin.site._registry:
        opts = model._meta
        add = f"/admin/{opts.app_label}/{opts.model_name}/add/"
        before = model._default_manager.count()
        response = client.post(add, {})
        if response.status_code != 403 or model._default_manager.count() != before:
            refused.append(f"{add}: {response.status_code}")

    assert refused == []


@pytest.mark.django_db
def test_a_viewer_cannot_waive_a_finding_with_the_admin_action() -> None:
    from catalog.models import Finding

    client = _client("viewer")
    response = client.get("/admin/catalog/finding/")

    assert response.status_code == 200
    assert b"Waive selected findings" not in response.content
    assert not Finding.objects.filter(status="waived").exists()


# What an auditor may open whatever the parameters: public routes and sign-in pages, the portal's own pages, and
# the home page (which only redirects them to the portal).
AUDITOR_OPEN = {key for key, rule in RULES.items() if rule is PUBLIC or rule is ANYONE} | {
    "home",
    "portal:home",
    "portal:login",
    "portal:logout",
    "portal:verify",
}


@pytest.mark.django_db
def test_the_auditor_gets_nothing_of_the_system_whose_grant_expired_through_any_route() -> None:
    from tests.security.portal_data import EXPIRED, portal_data_build

    data = portal_data_build()  # live grant to credit-scoring, expired grant to factory-assistant
    client = Client(raise_request_exception=False)
    client.force_login(data.auditor)
    b = data.expired
    values = {"slug": EXPIRED, "report_id": b.report_id, "pk": str(b.pk), "object_id": str(b.pk)}
    leaks = []
    for route in all_routes():
        if route.key in SESSION_ENDING:
            continue
        path = _fill(route.regex, values)
        for method in METHODS:
            response = client.generic(method, path, b"", content_type="application/json")
            body = response.content if not response.streaming else b""
            if response.status_code >= 500 or (200 <= response.status_code < 300 and route.key not in AUDITOR_OPEN):
                leaks.append(f"{method} {path} [{route.key}]: {response.status_code}")
            elif b.report_id.encode() in body or b.content_hash.encode() in body or EXPIRED.encode() in body:
                leaks.append(f"{method} {path} [{route.key}]: names the other system or its report")

    assert leaks == [], "\n".join(leaks)


@pytest.mark.django_db
def test_the_auditor_gets_the_granted_systems_portal_pages() -> None:
    from tests.security.portal_data import GRANTED, portal_data_build

    data = portal_data_build()
    client = Client()
    client.force_login(data.auditor)
    routes = {r.key: r for r in all_routes()}
    a = data.granted

    system = client.get(_fill(routes["portal:system"].regex, {"slug": GRANTED}))
    download = client.get(_fill(routes["portal:download"].regex, {"report_id": a.report_id}))

    assert system.status_code == 200
    assert a.report_id.encode() in system.content
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF-")


@pytest.mark.django_db
def test_a_viewer_is_offered_no_admin_action_on_any_model() -> None:
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username=user_create(username="vic", role="viewer").username)

    offered = {
        f"{model._meta.label}: {sorted(model_admin.get_actions(request))}"
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_or_change_permission(request) and model_admin.get_actions(request)
    }

    assert offered == set()


@pytest.mark.django_db
def test_a_viewer_cannot_issue_a_report_and_nothing_is_queued() -> None:
    from reports.models import Report

    AISystem.objects.create(slug="matrix-a", name="Matrix A")

    response = _client("viewer").post("/reports/", {"system": "matrix-a", "kind": "annex-iv"})

    assert response.status_code == 403
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_viewer_reads_the_api_but_cannot_post_events() -> None:
    viewer = _client("viewer")

    read = viewer.get("/api/v1/namespaces")
    write = viewer.post("/api/v1/lineage", run_event(namespace="pipelines"), content_type="application/json")

    assert read.status_code == 200
    assert write.status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "auditor", "producer", "anonymous"])
def test_no_write_method_on_any_route_changes_anything_for_a_role_without_write_rights(role: str) -> None:
    from lineage.models import LedgerHead
    from tests.security.conftest import stored_counts

    events_ingest(events=[run_event(namespace="pipelines")])
    client = _client(role)
    before = (stored_counts(), LedgerHead.objects.get(id=1).seq)
    errors = []
    for route in all_routes():
        if route.key in SESSION_ENDING or route.key in ("lineage", "lineage-batch"):
            continue  # the intake is a producer's write, tested on its own
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = client.generic(method, route.path, b"{}", content_type="application/json")
            if response.status_code >= 500:
                errors.append(f"{method} {route.path} [{route.key}]: {response.status_code}")

    assert errors == []
    assert (stored_counts(), LedgerHead.objects.get(id=1).seq) == before
