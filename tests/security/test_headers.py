"""Security headers, the Content-Security-Policy and cookie flags, as a browser would receive them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from config.security import client_ip

ROOT = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("path", ["/healthz", "/admin/login/", "/api/schema/"])
@pytest.mark.django_db
def test_every_response_carries_the_security_headers(client: Client, path: str) -> None:
    response = client.get(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_content_security_policy_forbids_inline_scripts_and_framing(client: Client) -> None:
    policy = _csp(client.get("/admin/login/"))

    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_hsts_is_sent_only_on_requests_that_came_over_tls(client: Client, settings) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    over_tls = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/healthz")

    assert over_tls["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain


def _settings_in_a_fresh_process(tmp_path: Path, names: list[str], **env: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(repr(s.{name}))" for name in names
    )
    child_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    child_env.update(DJANGO_SETTINGS_MODULE="config.settings", TRACEMARK_VAR_DIR=str(tmp_path), **env)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_behind_a_tls_proxy_hsts_defaults_to_a_year_and_cookies_are_secure(tmp_path: Path) -> None:
    values = _settings_in_a_fresh_process(
        tmp_path,
        ["SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"],
        DEBUG="0",
        BEHIND_TLS_PROXY="1",
        SECRET_KEY="x" * 60,
    )

    assert values == ["31536000", "('HTTP_X_FORWARDED_PROTO',", "'https')", "True", "True"]


def test_without_a_tls_proxy_there_is_no_hsts(tmp_path: Path) -> None:
    assert _settings_in_a_fresh_process(tmp_path, ["SECURE_HSTS_SECONDS"]) == ["0"]


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_httponly_and_samesite(client: Client, settings) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    get_user_model().objects.create_superuser("root", "root@example.org", "a long password 1")
    client.get("/admin/login/")

    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "a long password 1"})

    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) <= 8 * 3600
    csrf = client.cookies["csrftoken"]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"


def test_login_throttle_sees_the_client_behind_the_proxy_not_the_proxy(rf, settings) -> None:
    settings.BEHIND_TLS_PROXY = True
    settings.TRACEMARK_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")

    assert client_ip(request) == "203.0.113.9"  # the proxy's hop; 6.6.6.6 was sent by the client


def test_without_a_proxy_the_forwarded_header_is_ignored(rf, settings) -> None:
    settings.BEHIND_TLS_PROXY = False
    request = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6")

    assert client_ip(request) == "198.51.100.7"


# --- Pages keep to the policy: no inline script, no inline style -------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def _admin_pages() -> list[str]:
    pages = ["admin:index", "admin:password_change"]
    for model in admin.site._registry:
        for view in ("changelist", "add"):
            pages.append(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")
    return pages


@pytest.mark.django_db
def test_no_admin_page_needs_inline_script_or_style(client: Client) -> None:
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw"))
    offenders = []
    for name in _admin_pages():
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, INLINE_STYLE):
            offenders += [f"{url}: {m.group(0)[:60]}" for m in pattern.finditer(html)]

    assert offenders == []


def _served_templates() -> list[Path]:
    found = sorted((ROOT / "templates").rglob("*.html")) if (ROOT / "templates").exists() else []
    for app in ("lineage", "catalog", "reports", "config"):
        found += sorted((ROOT / app / "templates").rglob("*.html"))
    # Rendered to PDF by WeasyPrint, never served to a browser: the CSP does not apply.
    return [p for p in found if p.relative_to(ROOT).as_posix() != "reports/templates/reports/report.html"]


@pytest.mark.parametrize(
    "template",
    [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in _served_templates()],
)
def test_served_template_has_no_inline_script_or_style(template: Path) -> None:
    html = template.read_text(encoding="utf-8")

    found = [
        m.group(0)[:60] for pattern in (INLINE_SCRIPT, EVENT_HANDLER, INLINE_STYLE) for m in pattern.finditer(html)
    ]

    assert found == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cookie", ['"abcdefgh\\000ij"', "abcdefgh\x00ij", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "a" * 5000]
)
def test_a_forged_session_cookie_is_ignored_never_a_server_error(cookie: str) -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/admin/", HTTP_COOKIE=f"sessionid={cookie}")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
