"""Governance catalog: AI systems and their members, governance metadata, policies and findings.

Every governance fact carries ``first_seq`` (and, once superseded, ``valid_to_seq``): the ledger
sequence from which it holds, so that reports built as of a sequence see exactly what was known
then. A fact holds at ``S`` when ``first_seq <= S`` and (``valid_to_seq`` is null or ``> S``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.querysets import AssertionQuerySet, FindingQuerySet, MemberQuerySet
from lineage.models import Dataset, Job, Run

# --- AI systems -----------------------------------------------------------------------------


class RiskTier(models.TextChoices):
    PROHIBITED = "prohibited", "Prohibited practice (Art. 5)"
    HIGH_RISK = "high-risk", "High-risk (Art. 6)"
    LIMITED = "limited", "Limited risk (transparency, Art. 50)"
    MINIMAL = "minimal", "Minimal risk"
    GENERAL_PURPOSE = "general-purpose", "General-purpose AI model"
    GPAI_SYSTEMIC = "gpai-systemic", "General-purpose AI model with systemic risk"


class AnnexIIIArea(models.TextChoices):
    NONE = "", "—"
    BIOMETRICS = "biometrics", "1 Biometrics"
    CRITICAL_INFRASTRUCTURE = "critical-infrastructure", "2 Critical infrastructure"
    EDUCATION = "education", "3 Education and vocational training"
    EMPLOYMENT = "employment", "4 Employment and workers management"
    ESSENTIAL_SERVICES = "essential-services", "5 Access to essential private and public services"
    LAW_ENFORCEMENT = "law-enforcement", "6 Law enforcement"
    MIGRATION = "migration", "7 Migration, asylum and border control"
    JUSTICE = "justice", "8 Administration of justice and democratic processes"


class LifecycleStatus(models.TextChoices):
    DESIGN = "design", "Design"
    DEVELOPMENT = "development", "Development"
    VALIDATION = "validation", "Validation"
    DEPLOYED = "deployed", "Deployed"
    RETIRED = "retired", "Retired"


class AISystem(models.Model):
    """An AI system (or GPAI model) under governance; ``slug`` is its stable handle."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    provider = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=64, blank=True)
    intended_purpose = models.TextField(blank=True)
    risk_tier = models.CharField(max_length=32, choices=RiskTier.choices, default=RiskTier.MINIMAL)
    annex_iii_area = models.CharField(max_length=32, choices=AnnexIIIArea.choices, blank=True, default="")
    deployer = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=LifecycleStatus.choices, default=LifecycleStatus.DESIGN)
    allowed_jurisdictions = models.JSONField(
        default=list, blank=True, help_text='Codes where its data may live, e.g. ["EU"] or ["DE", "FR"].'
    )
    log_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long automatically generated logs are kept (Art. 19, 26(6))."
    )
    first_seq = models.BigIntegerField(default=0, help_text="Ledger entry that registered it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI system"

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def node_id(self) -> str:
        return f"system:{self.slug}"


class MemberRole(models.TextChoices):
    MODEL = "model", "Model"
    TRAINING_JOB = "training_job", "Training job"
    EVALUATION_JOB = "evaluation_job", "Evaluation job"
    SERVING_JOB = "serving_job", "Serving job"
    TRAINING_DATA = "training_data", "Training data"
    VALIDATION_DATA = "validation_data", "Validation data"
    TEST_DATA = "test_data", "Test data"
    DATASET = "dataset", "Other dataset"
    JOB = "job", "Other job"


JOB_ROLES = frozenset({MemberRole.TRAINING_JOB, MemberRole.EVALUATION_JOB, MemberRole.SERVING_JOB, MemberRole.JOB})


class SystemRule(models.Model):
    """A rule that makes lineage join a system by itself: by namespace, by name or by facet."""

    class Target(models.TextChoices):
        DATASET = "dataset", "Datasets"
        JOB = "job", "Jobs"

    class Kind(models.TextChoices):
        NAMESPACE = "namespace", "Namespace matches (fnmatch)"
        NAME = "name", "Name matches (fnmatch)"
        FACET = "facet", "Carries a facet with this key"

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="rules")
    role = models.CharField(max_length=32, choices=MemberRole.choices)
    target = models.CharField(max_length=8, choices=Target.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    pattern = models.CharField(max_length=1024)
    namespace_pattern = models.CharField(
        max_length=1024, blank=True, default="", help_text="Optional: also require this namespace (fnmatch)."
    )
    created_by = models.CharField(max_length=150, blank=True)
    first_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["system", "role", "target", "kind", "pattern", "namespace_pattern"],
                name="systemrule_natural_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system.slug}: {self.target} {self.kind} {self.pattern} → {self.role}"


class SystemMember(models.Model):
    """A dataset or job that belongs to a system, explicitly or through a rule."""

    class Source(models.TextChoices):
        EXPLICIT = "explicit", "Linked by staff"
        RULE = "rule", "Matched a rule"

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=32, choices=MemberRole.choices)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.EXPLICIT)
    rule = models.ForeignKey(SystemRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dataset__isnull=False, job__isnull=True) | Q(dataset__isnull=True, job__isnull=False),
                name="systemmember_one_node",
            ),
            models.UniqueConstraint(
                fields=["system", "role", "dataset"],
                condition=Q(dataset__isnull=False, valid_to_seq__isnull=True),
                name="systemmember_active_dataset",
            ),
            models.UniqueConstraint(
                fields=["system", "role", "job"],
                condition=Q(job__isnull=False, valid_to_seq__isnull=True),
                name="systemmember_active_job",
            ),
        ]
        indexes = [
            # "Which systems does this dataset/job belong to" (incremental evaluation).
            models.Index(fields=["dataset"], condition=Q(dataset__isnull=False), name="member_dataset_idx"),
            models.Index(fields=["job"], condition=Q(job__isnull=False), name="member_job_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} {self.role} {self.dataset_id or self.job_id}"


class SystemDeclaration(models.Model):
    """A staff statement about a system for its reports (intended purpose, oversight…), versioned."""

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="declarations")
    field = models.CharField(max_length=100, help_text="e.g. intended_purpose, human_oversight, instructions")
    version = models.PositiveIntegerField()
    value = models.TextField()
    author = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    seq = models.BigIntegerField(help_text="Ledger entry that recorded it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "field", "version"], name="declaration_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.system_id}.{self.field} v{self.version}"


# --- Governance metadata ---------------------------------------------------------------------


class Classification(models.Model):
    """One entry of the classification taxonomy; staff may add their own."""

    key = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    personal_data = models.BooleanField(default=False, help_text="Personal data under the GDPR.")
    special_category = models.BooleanField(default=False, help_text="Special-category data (GDPR Art. 9).")
    propagates = models.BooleanField(default=True, help_text="Flows downstream along lineage.")
    builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


class Attribute(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    LICENSE = "license", "License (SPDX)"
    ORIGIN = "origin", "Origin"
    LEGAL_BASIS = "legal_basis", "Legal basis"
    RETENTION = "retention", "Retention"
    JURISDICTION = "jurisdiction", "Jurisdiction"
    OWNER = "owner", "Owner"
    STEWARD = "steward", "Steward"


# Attributes that hold a set of values; the others hold one value, the highest-precedence one.
MULTI_VALUED = frozenset({Attribute.CLASSIFICATION, Attribute.OWNER, Attribute.STEWARD})


class Origin(models.TextChoices):
    COLLECTED = "collected", "Collected"
    LICENSED = "licensed", "Licensed"
    SCRAPED = "scraped", "Scraped"
    SYNTHETIC = "synthetic", "Synthetic"
    PUBLIC = "public", "Public"
    USER_PROVIDED = "user-provided", "User-provided"


class Source(models.TextChoices):
    ADMIN = "admin", "Staff edit"
    FACET = "facet", "Producer facet"
    RULE = "rule", "Rule"
    PROPAGATION = "propagation", "Propagated along lineage"


# Explicit precedence: a staff edit beats what a producer says about its own data, which beats a
# pattern rule, which beats an inference.
PRECEDENCE = {Source.ADMIN: 400, Source.FACET: 300, Source.RULE: 200, Source.PROPAGATION: 100}


class GovernanceRule(models.Model):
    """Namespace/name/column patterns → a governance value (e.g. ``s3://eu-*`` → jurisdiction EU)."""

    name = models.CharField(max_length=200)
    attribute = models.CharField(max_length=32, choices=Attribute.choices)
    value = models.CharField(max_length=200)
    namespace_pattern = models.CharField(max_length=1024, default="*")
    name_pattern = models.CharField(max_length=1024, default="*")
    field_pattern = models.CharField(
        max_length=200, blank=True, default="", help_text="Empty: the dataset itself; else columns (fnmatch)."
    )
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    first_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attribute", "value", "namespace_pattern", "name_pattern", "field_pattern"],
                name="governancerule_natural_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.namespace_pattern}/{self.name_pattern} → {self.attribute}={self.value}"


class GovernanceAssertion(models.Model):
    """One governance value for a dataset (``field`` empty) or a column, with its source.

    ``present=False`` is a staff override that removes a value (e.g. "not PII: hashed"); it beats
    every source of lower precedence. ``evidence`` says why: the rule, the event, or the path the
    value propagated along.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=1024, blank=True, default="")
    attribute = models.CharField(max_length=32, choices=Attribute.choices)
    value = models.CharField(max_length=200)
    present = models.BooleanField(default=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    precedence = models.PositiveSmallIntegerField()
    rule = models.ForeignKey(GovernanceRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    first_seq = models.BigIntegerField()
    valid_to_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssertionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "field", "attribute", "source", "value"],
                condition=Q(valid_to_seq__isnull=True),
                name="assertion_active_unique",
            ),
            models.CheckConstraint(
                condition=Q(valid_to_seq__isnull=True) | Q(valid_to_seq__gte=models.F("first_seq")),
                name="assertion_validity_ordered",
            ),
        ]
        indexes = [
            # Current values of a set of datasets (policy checks, pages).
            models.Index(
                fields=["dataset", "attribute"], condition=Q(valid_to_seq__isnull=True), name="assertion_current_idx"
            ),
            # As-of reads and propagation look up values by attribute across datasets.
            models.Index(fields=["attribute", "value", "first_seq"], name="assertion_attr_value_idx"),
        ]

    def __str__(self) -> str:
        where = f"{self.dataset_id}.{self.field}" if self.field else str(self.dataset_id)
        return f"{where} {self.attribute}={'' if self.present else '!'}{self.value} ({self.source})"


# --- Facts read from Tracemark facets --------------------------------------------------------


class FacetCursor(models.Model):
    """How far the catalog has read the ledger for facets; one row per reader, locked while reading."""

    name = models.CharField(max_length=32, primary_key=True)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.seq}"


class RunEnergy(models.Model):
    """Energy and emissions a run reported (``tracemark_energy`` run facet)."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="+")
    kwh = models.FloatField(default=0)
    kg_co2e = models.FloatField(default=0)
    accelerator_hours = models.FloatField(default=0)
    hardware = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=64, blank=True)
    seq = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "run energy"
        constraints = [
            models.CheckConstraint(condition=Q(kwh__gte=0) & Q(kg_co2e__gte=0), name="runenergy_non_negative")
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.kwh} kWh"


class ModelCard(models.Model):
    """What a producer said about a model artefact (``tracemark_aiModel`` dataset facet), per event."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    name = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=64, blank=True)
    task = models.CharField(max_length=200, blank=True)
    framework = models.CharField(max_length=200, blank=True)
    parameters = models.BigIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    facet = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "seq"], name="modelcard_natural_key")]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class FederatedRound(models.Model):
    """A federated or clean-room run (``tracemark_federation`` run facet): sites and crossings."""

    run = models.OneToOneField(Run, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    technique = models.CharField(max_length=200, blank=True)
    sites = models.JSONField(default=list)
    transfers = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"federated run {self.run_id}"


class QualityResult(models.Model):
    """Data-quality assertions reported for a dataset (``dataQualityAssertions`` facet), per event."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    passed = models.BooleanField()
    assertions = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "seq"], name="qualityresult_natural_key")]

    def __str__(self) -> str:
        return f"{self.dataset_id} @ {self.seq}: {'pass' if self.passed else 'fail'}"


# --- Policies and findings ---------------------------------------------------------------------


class Severity(models.TextChoices):
    INFO = "info", "Info"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Policy(models.Model):
    """One version of a policy. A revision adds a new row; the previous one stops being current."""

    class Kind(models.TextChoices):
        BUILTIN = "builtin", "Built-in check"
        EXPRESSION = "expression", "CEL expression"

    class Subject(models.TextChoices):
        SYSTEM = "system", "Each AI system in scope"
        DATASET = "dataset", "Each dataset upstream of a system in scope"
        JOB = "job", "Each job in scope"

    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    article = models.CharField(max_length=200, blank=True, help_text="The article or rule it enforces.")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EXPRESSION)
    check_name = models.CharField(max_length=64, blank=True, help_text="Built-in check name.")
    subject = models.CharField(max_length=16, choices=Subject.choices, default=Subject.SYSTEM)
    expression = models.TextField(blank=True, help_text="CEL; true means the subject passes.")
    parameters = models.JSONField(default=dict, blank=True)
    scope = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"systems": [slug…], "risk_tiers": […], "namespaces": [pattern…]}; empty means all.',
    )
    enabled = models.BooleanField(default=True)
    is_current = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    first_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="policy_natural_key"),
            models.UniqueConstraint(fields=["key"], condition=Q(is_current=True), name="policy_one_current"),
            models.CheckConstraint(
                condition=Q(kind="builtin", check_name__gt="") | Q(kind="expression", expression__gt=""),
                name="policy_has_check_or_expression",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.key}@{self.version}"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    WAIVED = "waived", "Waived"


class Finding(models.Model):
    """A policy failing for a subject (``item`` narrows it: the dataset, job or run at fault)."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="findings")
    policy_key = models.SlugField(max_length=100)
    subject = models.CharField(max_length=1100, help_text="system:<slug>, job:<ns>:<name>…")
    item = models.CharField(max_length=1100, blank=True, default="")
    system = models.ForeignKey(AISystem, null=True, blank=True, on_delete=models.PROTECT, related_name="findings")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    result = models.CharField(max_length=8, default="fail", help_text="Result of the latest evaluation.")
    message = models.TextField()
    evidence = models.JSONField(default=dict)
    evaluated_seq = models.BigIntegerField(help_text="Ledger head at the evaluation that established this result.")
    opened_seq = models.BigIntegerField()
    resolved_seq = models.BigIntegerField(null=True, blank=True)
    waived_by = models.CharField(max_length=150, blank=True)
    waiver_reason = models.TextField(blank=True)
    waiver_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy_key", "subject", "item"], name="finding_natural_key"),
            models.CheckConstraint(
                condition=~Q(status="waived") | (Q(waived_by__gt="") & Q(waiver_expires_at__isnull=False)),
                name="finding_waiver_named_and_expiring",
            ),
        ]
        indexes = [
            # Triage lists open findings by severity; the expiry sweep finds lapsed waivers.
            models.Index(fields=["status", "severity"], name="finding_status_idx"),
            models.Index(fields=["waiver_expires_at"], condition=Q(status="waived"), name="finding_waiver_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_key} {self.subject} {self.item}".strip()


class DatasetSchema(models.Model):
    """The column names of a dataset's latest ``schema`` facet, for column rules and pages."""

    dataset = models.OneToOneField(Dataset, on_delete=models.PROTECT, related_name="+")
    fields = models.JSONField(default=list)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.dataset_id}: {len(self.fields)} columns"


# --- Auditors ---------------------------------------------------------------------------------


class AuditorGrantQuerySet(models.QuerySet["AuditorGrant"]):
    def active(self, *, now: datetime) -> AuditorGrantQuerySet:
        """Grants in force at ``now``: not revoked, and not expired."""
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class AuditorGrant(models.Model):
    """An auditor may see one AI system (its reports, downloads and verification) until ``expires_at``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auditor_grants")
    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="auditor_grants")
    granted_by = models.CharField(max_length=150)
    reason = models.TextField(blank=True, help_text="Why this auditor sees this system (engagement, ticket…).")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    objects = AuditorGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "system"], condition=Q(revoked_at__isnull=True), name="auditorgrant_one_live_per_system"
            ),
        ]
        indexes = [
            # The portal lists an auditor's live grants on every request.
            models.Index(fields=["user", "revoked_at"], name="auditorgrant_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.system.slug}"
