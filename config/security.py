"""Security headers Django's SecurityMiddleware does not send: Content-Security-Policy, Permissions-Policy.

The policy allows no inline script and no inline style: pages load their JavaScript and CSS from
files under ``/static/``. A view that needs something else sets its own ``Content-Security-Policy``
header, which is then left alone. ``TRACEMARK_CSP_REPORT_ONLY`` sends the policy as
``Content-Security-Policy-Report-Only`` (to try a stricter policy without breaking pages).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_CSP: dict[str, Sequence[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
DEFAULT_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def csp_header_value(directives: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}".strip() for name, values in directives.items())


class SecurityHeadersMiddleware:
    """Add Content-Security-Policy and Permissions-Policy to every response that lacks them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        report_only = getattr(settings, "TRACEMARK_CSP_REPORT_ONLY", False)
        self.csp_header = "Content-Security-Policy-Report-Only" if report_only else "Content-Security-Policy"
        self.csp = csp_header_value(getattr(settings, "TRACEMARK_CSP", DEFAULT_CSP))
        self.permissions_policy = getattr(settings, "TRACEMARK_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.csp and "Content-Security-Policy" not in response and self.csp_header not in response:
            response[self.csp_header] = self.csp
        if self.permissions_policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions_policy
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for login throttling.

    Behind the TLS proxy (``BEHIND_TLS_PROXY``) every request comes from the proxy, which appends
    the real client to X-Forwarded-For: the last ``TRACEMARK_PROXY_COUNT`` entries were written by
    trusted proxies, anything before them by the client (and may be forged), so take the
    entry the outermost trusted proxy wrote. Without a proxy, REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not getattr(settings, "BEHIND_TLS_PROXY", False):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    count = max(1, getattr(settings, "TRACEMARK_PROXY_COUNT", 1))
    return hops[-count] if len(hops) >= count else remote


# --- Sessions ------------------------------------------------------------------------------------

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore  # noqa: E402
from django.utils.crypto import RANDOM_STRING_CHARS  # noqa: E402

_SESSION_KEY_CHARS = frozenset(RANDOM_STRING_CHARS.lower())


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, refusing a cookie that cannot be a session key before any query.

    Django only checks a key's length, then looks it up: a forged cookie holding NUL
    (``sessionid="aaaaaaaa\\000"``, which the cookie parser unquotes) makes PostgreSQL raise
    DataError, a 500 on every page. Keys Django makes are lowercase letters and digits.
    """

    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and len(key) >= 8 and set(key) <= _SESSION_KEY_CHARS  # type: ignore[arg-type]
