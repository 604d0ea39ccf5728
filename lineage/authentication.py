"""Bearer API-key authentication for producers (what the OpenLineage client sends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from lineage.models import ApiKey


@dataclass(frozen=True)
class Producer:
    """The principal behind an API key; not a Django user, never staff."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def username(self) -> str:
        return f"producer:{self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Producer, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        secret = secret.strip()
        if not secret:
            raise exceptions.AuthenticationFailed("Empty bearer token.")
        # Imported here: DRF loads this class while its own settings are still initialising.
        from lineage.services import api_key_authenticate

        key = api_key_authenticate(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return Producer(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tracemark"'


class StaffBasicAuthentication(authentication.BasicAuthentication):
    """A staff member's own login over Basic auth, for scripts reading the API.

    Credentials no login form would accept (a NUL character, absurd lengths) are refused before
    they reach the authentication backends and the login throttle's tables.
    """

    def authenticate_credentials(self, userid: str, password: str, request: Request | None = None) -> Any:
        if "\x00" in userid or "\x00" in password or len(userid) > 150 or len(password) > 4096:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return super().authenticate_credentials(userid, password, request)
