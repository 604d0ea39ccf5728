from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from lineage.models import (
    ApiKey,
    ColumnLineageEdge,
    Dataset,
    DatasetField,
    DatasetSymlink,
    DatasetVersion,
    FoldFailure,
    Job,
    JobDatasetEdge,
    JobVersion,
    LedgerEntry,
    Namespace,
    Run,
    RunDataset,
    RunStateChange,
    Tag,
)
from lineage.services import api_key_issue


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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

    @admin.action(description="Revoke selected keys", permissions=["change"])
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


@admin.register(FoldFailure)
class FoldFailureAdmin(ReadOnlyAdmin):
    """Ledger events the graph set aside because folding them raised (see ``graph_catch_up``)."""

    list_display = ["seq", "created_at", "first_line"]
    readonly_fields = ["seq", "created_at", "error"]

    @admin.display(description="error")
    def first_line(self, obj: FoldFailure) -> str:
        lines = obj.error.strip().splitlines()
        return lines[-1][:200] if lines else ""


@admin.register(Namespace)
class NamespaceAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_at", "first_seq"]
    search_fields = ["name"]


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DatasetVersionInline(ReadOnlyInline):
    model = DatasetVersion
    fk_name = "dataset"
    fields = (
        "version",
        "first_seq",
        "valid_to_seq",
        "created_at",
        "lifecycle_state",
        "producer_version",
    )
    readonly_fields = fields
    ordering = ["-first_seq"]


class DatasetFieldInline(ReadOnlyInline):
    model = DatasetField
    fields = (
        "name",
        "type",
        "description",
        "first_seq",
        "valid_to_seq",
    )
    readonly_fields = fields
    ordering = ["ordinal", "first_seq"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "namespace", "dataset_type", "updated_at", "first_seq"]
    list_filter = ["dataset_type"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]
    exclude = ["current_version"]
    inlines = [DatasetVersionInline, DatasetFieldInline]


class JobVersionInline(ReadOnlyInline):
    model = JobVersion
    fields = (
        "version",
        "first_seq",
        "valid_to_seq",
        "created_at",
        "location",
    )
    readonly_fields = fields
    ordering = ["-first_seq"]


class JobDatasetEdgeInline(ReadOnlyInline):
    model = JobDatasetEdge
    fields = (
        "direction",
        "dataset",
        "source",
        "first_seq",
        "last_seq",
        "valid_to_seq",
    )
    readonly_fields = fields
    ordering = ["direction", "first_seq"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["name", "namespace", "job_type", "updated_at", "first_seq"]
    list_filter = ["job_type"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]
    exclude = ["current_version"]
    inlines = [JobVersionInline, JobDatasetEdgeInline]


@admin.register(ColumnLineageEdge)
class ColumnLineageEdgeAdmin(ReadOnlyAdmin):
    list_display = [
        "output_dataset",
        "output_field",
        "input_dataset",
        "input_field",
        "transformation_type",
        "subtype",
        "masking",
        "job",
        "first_seq",
        "valid_to_seq",
    ]
    list_filter = ["transformation_type", "subtype", "masking"]
    search_fields = ["output_field", "input_field", "output_dataset__name", "input_dataset__name"]
    list_select_related = ["output_dataset", "input_dataset", "job"]
    show_full_result_count = False


@admin.register(DatasetSymlink)
class DatasetSymlinkAdmin(ReadOnlyAdmin):
    list_display = ["dataset", "canonical", "identifier_type", "first_seq", "valid_to_seq"]
    search_fields = ["dataset__name", "canonical__name"]
    list_select_related = ["dataset", "canonical"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_at", "first_seq"]
    search_fields = ["name"]


class RunStateChangeInline(admin.TabularInline):
    model = RunStateChange
    fields = (
        "state",
        "event_time",
        "seq",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["event_time", "seq"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RunDatasetInline(admin.TabularInline):
    model = RunDataset
    fields = (
        "direction",
        "dataset",
        "dataset_version",
        "event_time",
        "first_seq",
    )
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
    raw_id_fields = ["parent", "root", "job_version"]
    inlines = [RunStateChangeInline, RunDatasetInline]
