from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from lineage.models import ApiKey, Dataset, Job, LedgerEntry, Namespace, Run, RunDataset, RunStateChange
from lineage.services import api_key_issue


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lineage facts come from the ledger: staff look, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "namespaces", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    fields = ["name", "namespaces", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are revoked, never deleted: ledger entries point at them

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_issue(name=obj.name, namespaces=obj.namespaces or [])
        obj.pk = issued.api_key.pk
        obj.refresh_from_db()
        self.message_user(
            request, f"API key for {obj.name} (shown once, store it now): {issued.secret}", messages.WARNING
        )

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "kind", "event_type", "event_time", "received_at", "producer", "short_hash"]
    list_filter = ["kind", "event_type"]
    search_fields = ["payload_hash", "chain_hash"]
    list_select_related = ["producer"]
    show_full_result_count = False

    @admin.display(description="hash")
    def short_hash(self, obj: LedgerEntry) -> str:
        return obj.payload_hash[:16]


@admin.register(Namespace)
class NamespaceAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_at", "first_seq"]
    search_fields = ["name"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "namespace", "updated_at", "first_seq"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["name", "namespace", "updated_at", "first_seq"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]


class RunStateChangeInline(admin.TabularInline):
    model = RunStateChange
    fields = ["state", "event_time", "seq"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["event_time", "seq"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RunDatasetInline(admin.TabularInline):
    model = RunDataset
    fields = ["direction", "dataset", "event_time", "first_seq"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["run_id", "job", "state", "started_at", "ended_at", "is_placeholder"]
    list_filter = ["state", "is_placeholder"]
    search_fields = ["run_id", "job__name"]
    list_select_related = ["job", "job__namespace"]
    inlines = [RunStateChangeInline, RunDatasetInline]
