"""Every change made through the Django admin is also appended to the hash-chained ledger.

Django writes a ``LogEntry`` for each admin addition, change and deletion; that table can be edited
by anyone with database access. Tracemark records the same facts as governance entries in the
ledger, in the admin request's own transaction, so a change either is in both or in neither.

How: the project's admin site (``AuditedAdminSite``, made the default site by
``AuditedAdminConfig`` in ``INSTALLED_APPS``) mixes ``AuditedModelAdmin`` into every ModelAdmin
registered on it, so an app's ``admin.py`` needs nothing special and a new admin cannot forget it.
Admin actions (bulk operations that Django does not log) are recorded as ``admin.action``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.core import serializers
from django.db import models, router, transaction
from django.http import HttpRequest, HttpResponseBase

# Field names whose values never go into the ledger (it is read by auditors and kept forever).
SENSITIVE_FIELD = re.compile(r"password|secret|token|key_hash|private|passphrase|otp", re.IGNORECASE)
REDACTED = "[redacted]"


def object_snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's field values as JSON (foreign keys as ids), sensitive fields redacted."""
    (serialized,) = orjson.loads(serializers.serialize("json", [obj]))
    fields: dict[str, Any] = serialized["fields"]
    return {name: REDACTED if SENSITIVE_FIELD.search(name) else value for name, value in fields.items()}


def _subject(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def _actor(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return f"user:{user.get_username()}" if user is not None and user.is_authenticated else "anonymous"


def admin_change_record(
    *, request: HttpRequest, action: str, obj: models.Model, message: Any = None, snapshot: dict[str, Any] | None = None
) -> None:
    """Append one admin change (``admin.add``, ``admin.change``, ``admin.delete``) to the ledger."""
    from lineage.services import governance_record

    governance_record(
        action=action,
        subject=_subject(obj),
        actor=_actor(request),
        details={
            "object": str(obj),
            "change": message if isinstance(message, list | str) else [],
            "values": snapshot if snapshot is not None else object_snapshot(obj),
        },
    )


def admin_action_record(*, request: HttpRequest, model: type[models.Model], action: str, pks: Iterable[Any]) -> None:
    """Append a bulk admin action (which Django does not log per object) to the ledger."""
    from lineage.services import governance_record

    governance_record(
        action="admin.action",
        subject=model._meta.label_lower,
        actor=_actor(request),
        details={"action": action, "objects": sorted(str(pk) for pk in pks)},
    )


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records Django's admin log calls in the ledger too; mixed into every registered ModelAdmin."""

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        admin_change_record(request=request, action="admin.add", obj=obj, message=message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        admin_change_record(request=request, action="admin.change", obj=obj, message=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the rows are deleted: the snapshot is what was removed.
        for obj in queryset:
            admin_change_record(request=request, action="admin.delete", obj=obj)
        return super().log_deletions(request, queryset)

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponseBase | None:
        # Django runs actions outside a transaction; run each in one, with its ledger entry.
        action = request.POST.get("action", "")
        with transaction.atomic(using=router.db_for_write(self.model)):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            select_across = request.POST.get("select_across") == "1"
            pks = list(queryset.values_list("pk", flat=True)) if select_across else selected
            response = super().response_action(request, queryset)
            # delete_selected logs its deletions itself once confirmed; its first step changes nothing.
            ran = action and action != "delete_selected" and self.get_action(action) is not None
            if ran and pks and _action_succeeded(response):
                admin_action_record(request=request, model=self.model, action=action, pks=pks)
        return response


def _action_succeeded(response: HttpResponseBase | None) -> bool:
    # An action that changed something redirects back to the changelist (or returns None).
    return response is None or response.status_code in (301, 302, 303)


class AuditedAdminSite(admin.AdminSite):
    """The default admin site: every ModelAdmin registered on it records its changes in the ledger."""

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AuditedModelAdmin):
            base = type(base.__name__, (AuditedModelAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)


class AuditedAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``AuditedAdminSite`` as ``admin.site``."""

    default_site = "config.admin_audit.AuditedAdminSite"
