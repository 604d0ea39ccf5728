from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from lineage.models import ApiKey


class IsProducer(BasePermission):
    """Only requests carrying a valid producer API key."""

    message = "A producer API key is required (Authorization: Bearer <key>)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


class IsStaffReader(BasePermission):
    """Signed-in staff (session) may read the catalog; producer keys may not."""

    message = "Reading the catalog requires a staff sign-in."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_staff", False))
