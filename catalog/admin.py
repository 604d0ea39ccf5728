"""Staff UI for the catalog. Every save goes through a service, so it reaches the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from catalog import services
from catalog.findings import finding_waive
from catalog.models import (
    AISystem,
    AuditorGrant,
    Classification,
    Finding,
    FindingStatus,
    GovernanceAssertion,
    GovernanceRule,
    ModelCard,
    Policy,
    RunEnergy,
    SystemDeclaration,
    SystemMember,
    SystemRule,
)
from catalog.policies import policy_revise
from catalog.selectors import system_energy


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MemberInline(_ReadOnlyInline):
    model = SystemMember
    fields = ["role", "dataset", "job", "source", "actor", "reason", "first_seq", "valid_to_seq"]
    readonly_fields = fields


class DeclarationInline(_ReadOnlyInline):
    model = SystemDeclaration
    fields = ["field", "version", "value", "author", "created_at", "seq"]
    readonly_fields = fields


class RuleInline(_ReadOnlyInline):
    model = SystemRule
    fields = ["role", "target", "kind", "pattern", "namespace_pattern", "created_by", "first_seq"]
    readonly_fields = fields


def _actor(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "staff"


@admin.register(AISystem)
class AISystemAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "risk_tier", "status", "provider", "open_findings", "energy"]
    list_filter = ["risk_tier", "status", "annex_iii_area"]
    search_fields = ["name", "slug", "provider"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["first_seq", "created_at", "updated_at"]
    inlines = [MemberInline, RuleInline, DeclarationInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="open findings")
    def open_findings(self, obj: AISystem) -> int:
        return obj.findings.filter(status=FindingStatus.OPEN).count()

    @admin.display(description="energy")
    def energy(self, obj: AISystem) -> str:
        energy = system_energy(system_id=obj.pk)
        return f"{energy.kwh:,.1f} kWh / {energy.kg_co2e:,.1f} kgCO2e"

    def save_model(self, request: HttpRequest, obj: AISystem, form: Any, change: bool) -> None:
        fields = {name: getattr(obj, name) for name in services.SYSTEM_FIELDS if name != "name"}
        if change:
            updated = services.system_update(system_id=obj.pk, actor=_actor(request), name=obj.name, **fields)
        else:
            updated = services.system_register(slug=obj.slug, name=obj.name, actor=_actor(request), **fields)
        obj.pk = updated.pk
        obj.refresh_from_db()


@admin.register(SystemMember)
class SystemMemberAdmin(admin.ModelAdmin):
    list_display = ["system", "role", "dataset", "job", "source", "first_seq", "valid_to_seq"]
    list_filter = ["role", "source", "system"]
    raw_id_fields = ["dataset", "job"]
    fields = ["system", "role", "dataset", "job", "reason"]
    list_select_related = ["system", "dataset__namespace", "job__namespace"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SystemMember, form: Any, change: bool) -> None:
        member = services.system_member_add(
            system_id=obj.system_id,
            role=obj.role,
            dataset_id=obj.dataset_id,
            job_id=obj.job_id,
            actor=_actor(request),
            reason=obj.reason,
        )
        obj.pk = member.pk


@admin.register(SystemRule)
class SystemRuleAdmin(admin.ModelAdmin):
    list_display = ["system", "role", "target", "kind", "pattern", "namespace_pattern", "first_seq"]
    fields = ["system", "role", "target", "kind", "pattern", "namespace_pattern"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SystemRule, form: Any, change: bool) -> None:
        rule = services.system_rule_add(
            system_id=obj.system_id,
            role=obj.role,
            target=obj.target,
            kind=obj.kind,
            pattern=obj.pattern,
            namespace_pattern=obj.namespace_pattern,
            actor=_actor(request),
        )
        obj.pk = rule.pk


@admin.register(SystemDeclaration)
class SystemDeclarationAdmin(admin.ModelAdmin):
    list_display = ["system", "field", "version", "author", "created_at"]
    list_filter = ["field"]
    fields = ["system", "field", "value", "reason"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SystemDeclaration, form: Any, change: bool) -> None:
        declaration = services.system_declare(
            system_id=obj.system_id, field=obj.field, value=obj.value, actor=_actor(request), reason=obj.reason
        )
        obj.pk = declaration.pk


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "personal_data", "special_category", "propagates", "builtin"]
    readonly_fields = ["builtin"]


@admin.register(GovernanceAssertion)
class GovernanceAssertionAdmin(admin.ModelAdmin):
    """Staff add values (or override them away with 'present' unticked); nothing is edited in place."""

    list_display = ["dataset", "field", "attribute", "value", "present", "source", "actor", "first_seq", "valid_to_seq"]
    list_filter = ["attribute", "source", "present", ("valid_to_seq", admin.EmptyFieldListFilter)]
    search_fields = ["dataset__name", "value", "field"]
    raw_id_fields = ["dataset"]
    fields = ["dataset", "field", "attribute", "value", "present", "reason"]
    list_select_related = ["dataset__namespace"]
    actions = ["withdraw"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: GovernanceAssertion, form: Any, change: bool) -> None:
        created = services.assertion_set(
            dataset_id=obj.dataset_id,
            field=obj.field,
            attribute=obj.attribute,
            value=obj.value,
            present=obj.present,
            actor=_actor(request),
            reason=obj.reason or "staff edit",
        )
        obj.pk = created.pk

    @admin.action(description="Withdraw selected staff values", permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[GovernanceAssertion]) -> None:
        for assertion in queryset.filter(source="admin", valid_to_seq__isnull=True):
            services.assertion_withdraw(assertion_id=assertion.pk, actor=_actor(request), reason="withdrawn by staff")
        self.message_user(request, "Withdrawn.")


@admin.register(GovernanceRule)
class GovernanceRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "attribute", "value", "namespace_pattern", "name_pattern", "field_pattern", "enabled"]
    fields = ["name", "attribute", "value", "namespace_pattern", "name_pattern", "field_pattern"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def save_model(self, request: HttpRequest, obj: GovernanceRule, form: Any, change: bool) -> None:
        rule = services.governance_rule_add(
            name=obj.name,
            attribute=obj.attribute,
            value=obj.value,
            namespace_pattern=obj.namespace_pattern,
            name_pattern=obj.name_pattern,
            field_pattern=obj.field_pattern,
            actor=_actor(request),
        )
        obj.pk = rule.pk


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Saving a policy adds a new version; earlier versions stay, as findings cite them."""

    list_display = ["key", "version", "title", "severity", "kind", "subject", "enabled", "is_current"]
    list_filter = ["is_current", "severity", "kind", "enabled"]
    search_fields = ["key", "title", "article"]
    fields = [
        "key",
        "title",
        "description",
        "article",
        "severity",
        "kind",
        "check_name",
        "subject",
        "expression",
        "parameters",
        "scope",
        "enabled",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Policy]:
        return super().get_queryset(request).order_by("key", "-version")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Policy, form: Any, change: bool) -> None:
        revised = policy_revise(
            key=obj.key,
            actor=_actor(request),
            title=obj.title,
            description=obj.description,
            article=obj.article,
            severity=obj.severity,
            kind=obj.kind,
            check_name=obj.check_name,
            subject=obj.subject,
            expression=obj.expression,
            parameters=obj.parameters,
            scope=obj.scope,
            enabled=obj.enabled,
        )
        obj.pk = revised.pk
        obj.refresh_from_db()


class WaiveForm(ActionForm):
    reason = forms.CharField(required=False, help_text="Why the finding is accepted.")
    days = forms.IntegerField(required=False, min_value=1, max_value=366, initial=90)


@admin.register(Finding)
class FindingAdmin(_ReadOnly):
    list_display = ["policy_key", "severity", "status", "subject", "item", "message", "evaluated_seq", "updated_at"]
    list_filter = ["status", "severity", "policy_key", "system"]
    search_fields = ["subject", "item", "message"]
    list_select_related = ["policy"]
    action_form = WaiveForm
    actions = ["waive"]

    def has_waive_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.change_finding")

    @admin.action(description="Waive selected findings (reason and days below)", permissions=["waive"])
    def waive(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        reason = request.POST.get("reason", "").strip()
        days = int(request.POST.get("days") or 90)
        if not reason:
            self.message_user(request, "A waiver needs a reason.", messages.ERROR)
            return
        expires = timezone.now() + timedelta(days=days)
        for finding in queryset:
            finding_waive(finding_id=finding.pk, actor=_actor(request), reason=reason, expires_at=expires)
        self.message_user(request, f"Waived {queryset.count()} finding(s) until {expires:%Y-%m-%d}.")


@admin.register(RunEnergy)
class RunEnergyAdmin(_ReadOnly):
    list_display = ["run", "kwh", "kg_co2e", "accelerator_hours", "hardware", "region", "seq"]


@admin.register(ModelCard)
class ModelCardAdmin(_ReadOnly):
    list_display = ["name", "version", "task", "framework", "parameters", "dataset", "seq"]
    list_select_related = ["dataset__namespace"]


@admin.register(AuditorGrant)
class AuditorGrantAdmin(admin.ModelAdmin):
    """Who audits which system until when. Grants are revoked, never deleted (the history stays)."""

    list_display = ["user", "system", "granted_by", "created_at", "expires_at", "revoked_at"]
    list_filter = ["system", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "system__slug", "reason"]
    list_select_related = ["user", "system"]
    fields = ["user", "system", "reason", "expires_at"]
    actions = ["revoke"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":  # only auditors: staff see everything already
            from catalog.roles import AUDITOR, GROUPS

            kwargs["queryset"] = db_field.related_model.objects.filter(
                is_staff=False, groups__name=GROUPS[AUDITOR]
            ).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)  # the list and its revoke action

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: AuditorGrant, form: Any, change: bool) -> None:
        obj.granted_by = _actor(request)
        super().save_model(request, obj, form, change)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.change_auditorgrant")

    @admin.action(description="Revoke selected grants", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AuditorGrant]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=_actor(request))
        self.message_user(request, f"Revoked {count} grant(s).")
