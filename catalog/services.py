"""Write services of the catalog: systems, members, governance metadata, rules.

Every governance transition is appended to the ledger through ``governance_record``; the
sequence it returns is the ``first_seq`` / ``valid_to_seq`` of the rows it changes.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from catalog.exceptions import CatalogInvalid
from catalog.jurisdictions import jurisdiction_normalise
from catalog.models import (
    JOB_ROLES,
    MULTI_VALUED,
    PRECEDENCE,
    AISystem,
    Attribute,
    Classification,
    GovernanceAssertion,
    GovernanceRule,
    Source,
    SystemDeclaration,
    SystemMember,
    SystemRule,
)
from catalog.patterns import glob_match, glob_regex
from catalog.taxonomy import BUILTIN_BY_KEY, BUILTIN_CLASSIFICATIONS, classification_key
from lineage.models import Dataset, Job, LedgerEntry, LedgerHead
from lineage.services import governance_record

logger = logging.getLogger(__name__)
# Changes listed in one ledger entry; larger change sets are split across entries.
LEDGER_CHANGES_PER_ENTRY = 500
CHUNK = 500


def ledger_head_seq() -> int:
    head = LedgerHead.objects.filter(id=1).values_list("seq", flat=True).first()
    return int(head or 0)


def catalog_refresh_after_commit(*, dataset_ids: Iterable[int] = (), system_ids: Iterable[int] = ()) -> None:
    """After a staff edit commits, re-derive and re-check what it affects (best effort).

    Tasks are named, not imported, so this module stays importable without a broker; if the
    broker is down the periodic sweep catches up.
    """
    dataset_ids, system_ids = sorted(set(dataset_ids)), sorted(set(system_ids))

    def enqueue() -> None:
        from celery import current_app

        try:
            if dataset_ids:
                current_app.send_task("catalog.refresh_datasets", kwargs={"dataset_ids": dataset_ids}, retry=False)
            for system_id in system_ids:
                current_app.send_task("catalog.evaluate_system", kwargs={"system_id": system_id}, retry=False)
        except Exception:
            logger.warning("catalog: could not enqueue re-checks after a staff edit; the sweep will", exc_info=True)

    if dataset_ids or system_ids:
        transaction.on_commit(enqueue)


def _record(*, action: str, subject: str, actor: str, details: dict[str, Any]) -> LedgerEntry:
    return governance_record(action=action, subject=subject, actor=actor or "tracemark", details=details)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Taxonomy -----------------------------------------------------------------------------------


def taxonomy_install() -> int:
    """Add the built-in classifications that are missing (idempotent); return how many were added."""
    existing = set(Classification.objects.values_list("key", flat=True))
    missing = [c for c in BUILTIN_CLASSIFICATIONS if c.key not in existing]
    Classification.objects.bulk_create(
        [
            Classification(
                key=c.key,
                label=c.label,
                personal_data=c.personal_data,
                special_category=c.special_category,
                propagates=c.propagates,
                builtin=True,
            )
            for c in missing
        ],
        ignore_conflicts=True,
    )
    return len(missing)


def classifications_ensure(keys: Iterable[str]) -> None:
    """Add producer-sent classifications the taxonomy does not know yet, for staff to review."""
    keys = set(keys)
    if not keys:
        return
    if keys & set(BUILTIN_BY_KEY):
        taxonomy_install()
    known = set(Classification.objects.filter(key__in=keys).values_list("key", flat=True))
    Classification.objects.bulk_create(
        [
            Classification(key=k, label=k, description="Added from a producer facet or staff edit.")
            for k in keys - known
        ],
        ignore_conflicts=True,
    )


def normalise_value(attribute: str, value: str) -> str:
    value = value.strip()
    if attribute == Attribute.CLASSIFICATION:
        return classification_key(value)
    if attribute == Attribute.JURISDICTION:
        return jurisdiction_normalise(value)
    if attribute == Attribute.ORIGIN:
        return value.lower()
    return value


# --- AI systems -----------------------------------------------------------------------------------

SYSTEM_FIELDS = (
    "name",
    "provider",
    "version",
    "intended_purpose",
    "risk_tier",
    "annex_iii_area",
    "deployer",
    "status",
    "allowed_jurisdictions",
    "log_retention_days",
)


def _system_snapshot(system: AISystem) -> dict[str, Any]:
    return {name: getattr(system, name) for name in SYSTEM_FIELDS}


@transaction.atomic
def system_register(*, slug: str, name: str, actor: str, **fields: Any) -> AISystem:
    """Register an AI system (or return the one with this slug, unchanged)."""
    existing = AISystem.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    unknown = set(fields) - set(SYSTEM_FIELDS)
    if unknown:
        raise CatalogInvalid(f"unknown system fields: {sorted(unknown)}")
    if "allowed_jurisdictions" in fields:
        fields["allowed_jurisdictions"] = [jurisdiction_normalise(j) for j in fields["allowed_jurisdictions"]]
    system = AISystem(slug=slug, name=name, **fields)
    system.full_clean()
    entry = _record(action="system.registered", subject=system.node_id, actor=actor, details=_system_snapshot(system))
    system.first_seq = entry.seq
    system.save()
    return system


@transaction.atomic
def system_update(*, system_id: int, actor: str, reason: str = "", **changes: Any) -> AISystem:
    system = AISystem.objects.select_for_update().get(pk=system_id)
    before = _system_snapshot(system)
    for name, value in changes.items():
        if name not in SYSTEM_FIELDS:
            raise CatalogInvalid(f"unknown system field: {name}")
        if name == "allowed_jurisdictions":
            value = [jurisdiction_normalise(j) for j in value]
        setattr(system, name, value)
    system.full_clean()
    after = _system_snapshot(system)
    diff = {k: {"from": before[k], "to": after[k]} for k in SYSTEM_FIELDS if before[k] != after[k]}
    if diff:
        _record(
            action="system.updated", subject=system.node_id, actor=actor, details={"changes": diff, "reason": reason}
        )
        system.save()
        catalog_refresh_after_commit(system_ids=[system.pk])
    return system


@transaction.atomic
def system_declare(*, system_id: int, field: str, value: str, actor: str, reason: str = "") -> SystemDeclaration:
    """Record a new version of a staff declaration (intended purpose, human oversight…)."""
    system = AISystem.objects.select_for_update().get(pk=system_id)
    last = SystemDeclaration.objects.filter(system=system, field=field).order_by("-version").first()
    if last is not None and last.value == value:
        return last
    version = (last.version if last else 0) + 1
    entry = _record(
        action="system.declared",
        subject=system.node_id,
        actor=actor,
        details={"field": field, "version": version, "value": value, "reason": reason},
    )
    return SystemDeclaration.objects.create(
        system=system, field=field, version=version, value=value, author=actor, reason=reason, seq=entry.seq
    )


def _member_node(member: SystemMember) -> str:
    if member.dataset_id:
        return Dataset.objects.select_related("namespace").get(pk=member.dataset_id).node_id
    return Job.objects.select_related("namespace").get(pk=member.job_id).node_id


@transaction.atomic
def system_member_add(
    *, system_id: int, role: str, actor: str, dataset_id: int | None = None, job_id: int | None = None, reason: str = ""
) -> SystemMember:
    """Link a dataset or job to a system by hand (idempotent)."""
    if (dataset_id is None) == (job_id is None):
        raise CatalogInvalid("link exactly one dataset or one job")
    if job_id is not None and role not in JOB_ROLES:
        raise CatalogInvalid(f"role {role!r} is for datasets, not jobs")
    if dataset_id is not None and role in JOB_ROLES:
        raise CatalogInvalid(f"role {role!r} is for jobs, not datasets")
    system = AISystem.objects.select_for_update().get(pk=system_id)
    existing = SystemMember.objects.filter(
        system=system, role=role, dataset_id=dataset_id, job_id=job_id, valid_to_seq__isnull=True
    ).first()
    if existing is not None:
        return existing
    member = SystemMember(system=system, role=role, dataset_id=dataset_id, job_id=job_id, actor=actor, reason=reason)
    entry = _record(
        action="system.member_added",
        subject=system.node_id,
        actor=actor,
        details={"role": role, "node": _member_node(member), "reason": reason},
    )
    member.first_seq = entry.seq
    member.save()
    catalog_refresh_after_commit(system_ids=[system.pk])
    return member


@transaction.atomic
def system_member_remove(*, member_id: int, actor: str, reason: str) -> None:
    member = SystemMember.objects.select_for_update().select_related("system").get(pk=member_id)
    if member.valid_to_seq is not None:
        return
    entry = _record(
        action="system.member_removed",
        subject=member.system.node_id,
        actor=actor,
        details={"role": member.role, "node": _member_node(member), "reason": reason},
    )
    SystemMember.objects.filter(pk=member.pk, valid_to_seq__isnull=True).update(valid_to_seq=entry.seq)
    catalog_refresh_after_commit(system_ids=[member.system_id])


@transaction.atomic
def system_rule_add(
    *, system_id: int, role: str, target: str, kind: str, pattern: str, actor: str, namespace_pattern: str = ""
) -> SystemRule:
    """Add a membership rule and apply it to the lineage already known."""
    system = AISystem.objects.select_for_update().get(pk=system_id)
    if (target == SystemRule.Target.JOB) != (role in JOB_ROLES):
        raise CatalogInvalid(f"role {role!r} does not fit {target}s")
    rule, created = SystemRule.objects.get_or_create(
        system=system,
        role=role,
        target=target,
        kind=kind,
        pattern=pattern,
        namespace_pattern=namespace_pattern,
        defaults={"created_by": actor},
    )
    if created:
        entry = _record(
            action="system.rule_added",
            subject=system.node_id,
            actor=actor,
            details={"role": role, "target": target, "kind": kind, "pattern": pattern, "namespace": namespace_pattern},
        )
        SystemRule.objects.filter(pk=rule.pk).update(first_seq=entry.seq)
        rule.first_seq = entry.seq
    members_apply_rules(rule_ids=[rule.pk])
    catalog_refresh_after_commit(system_ids=[system.pk])
    return rule


def _rule_node_filter(rule: SystemRule) -> Q:
    condition = Q()
    if rule.kind == SystemRule.Kind.NAMESPACE:
        condition &= Q(namespace__name__regex=glob_regex(rule.pattern))
    elif rule.kind == SystemRule.Kind.NAME:
        condition &= Q(name__regex=glob_regex(rule.pattern))
    if rule.namespace_pattern:
        condition &= Q(namespace__name__regex=glob_regex(rule.namespace_pattern))
    return condition


@transaction.atomic
def members_apply_rules(
    *,
    rule_ids: Sequence[int] | None = None,
    dataset_ids: Iterable[int] | None = None,
    job_ids: Iterable[int] | None = None,
) -> int:
    """Add the members that namespace/name rules match, limited to the given nodes if any.

    Facet rules are applied where facets are read (``catalog.facets``). Idempotent: a node that
    is already an active member with that role is left alone. Returns how many were added.
    """
    rules = SystemRule.objects.select_related("system").exclude(kind=SystemRule.Kind.FACET)
    if rule_ids is not None:
        rules = rules.filter(pk__in=rule_ids)
    dataset_ids = None if dataset_ids is None else list(dataset_ids)
    job_ids = None if job_ids is None else list(job_ids)
    wanted: list[SystemMember] = []
    for rule in rules:
        model = Dataset if rule.target == SystemRule.Target.DATASET else Job
        limit = dataset_ids if model is Dataset else job_ids
        if limit is not None and not limit:
            continue
        nodes = model.objects.filter(_rule_node_filter(rule))
        if limit is not None:
            nodes = nodes.filter(pk__in=limit)
        column = "dataset_id" if model is Dataset else "job_id"
        already = set(
            SystemMember.objects.filter(system=rule.system, role=rule.role, valid_to_seq__isnull=True)
            .exclude(**{f"{column}__isnull": True})
            .values_list(column, flat=True)
        )
        for node_id in nodes.values_list("pk", flat=True).iterator():
            if node_id not in already:
                wanted.append(
                    SystemMember(system=rule.system, role=rule.role, source="rule", rule=rule, **{column: node_id})
                )
    return _members_create(wanted)


def _members_create(wanted: list[SystemMember]) -> int:
    if not wanted:
        return 0
    slugs = dict(AISystem.objects.filter(pk__in={m.system_id for m in wanted}).values_list("pk", "slug"))
    for batch in _chunks(wanted, LEDGER_CHANGES_PER_ENTRY):
        entry = _record(
            action="system.members_matched",
            subject="catalog:rules",
            actor="tracemark",
            details={
                "members": [
                    {
                        "system": slugs[m.system_id],
                        "role": m.role,
                        "dataset": m.dataset_id,
                        "job": m.job_id,
                        "rule": m.rule_id,
                    }
                    for m in batch
                ]
            },
        )
        for member in batch:
            member.first_seq = entry.seq
        SystemMember.objects.bulk_create(batch, ignore_conflicts=True)
    return len(wanted)


# --- Governance metadata ----------------------------------------------------------------------


@dataclass(frozen=True)
class AssertionSpec:
    """A governance value some source asserts; the unit of reconciliation."""

    dataset_id: int
    field: str
    attribute: str
    value: str
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    rule_id: int | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.dataset_id, self.field, self.attribute, self.value)


@dataclass(frozen=True)
class Change:
    dataset_id: int
    field: str
    attribute: str
    value: str
    change: str  # added | removed

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_id,
            "field": self.field,
            "attribute": self.attribute,
            "value": self.value,
            "change": self.change,
        }


def assertions_reconcile(
    *,
    source: str,
    scope: set[tuple[int, str, str]],
    desired: Iterable[AssertionSpec],
    seq: int | None = None,
    action: str = "governance.derived",
    record: bool = True,
) -> list[Change]:
    """Make the active ``source`` assertions inside ``scope`` equal ``desired``.

    ``scope`` lists the (dataset, field, attribute) keys this computation is authoritative for;
    anything outside it is left alone. Changes are written to the ledger and take its sequence,
    unless ``seq`` is given (facets: the sequence of the event that carried them). Running it
    twice with the same input changes nothing.
    """
    desired_by_key = {spec.key: spec for spec in desired if (spec.dataset_id, spec.field, spec.attribute) in scope}
    dataset_ids = sorted({d for d, _, _ in scope})
    current: dict[tuple[int, str, str, str], int] = {}
    for batch in _chunks(dataset_ids):
        for pk, dataset_id, fld, attribute, value in GovernanceAssertion.objects.filter(
            source=source, valid_to_seq__isnull=True, dataset_id__in=batch
        ).values_list("pk", "dataset_id", "field", "attribute", "value"):
            if (dataset_id, fld, attribute) in scope:
                current[(dataset_id, fld, attribute, value)] = pk
    removed = [key for key in current if key not in desired_by_key]
    added = [spec for key, spec in desired_by_key.items() if key not in current]
    changes = [Change(*key, change="removed") for key in removed] + [
        Change(s.dataset_id, s.field, s.attribute, s.value, change="added") for s in added
    ]
    if not changes:
        return []
    with transaction.atomic():
        if seq is None or record:
            entries = [
                _record(
                    action=action,
                    subject="catalog:governance",
                    actor="tracemark",
                    details={"source": source, "changes": [c.as_dict() for c in batch]},
                )
                for batch in _chunks(changes, LEDGER_CHANGES_PER_ENTRY)
            ]
            if seq is None:
                seq = entries[0].seq
        for batch in _chunks([current[k] for k in removed]):
            GovernanceAssertion.objects.filter(pk__in=batch, valid_to_seq__isnull=True).update(valid_to_seq=seq)
        GovernanceAssertion.objects.bulk_create(
            [
                GovernanceAssertion(
                    dataset_id=s.dataset_id,
                    field=s.field,
                    attribute=s.attribute,
                    value=s.value,
                    source=source,
                    precedence=PRECEDENCE[Source(source)],
                    rule_id=s.rule_id,
                    evidence=s.evidence,
                    first_seq=seq,
                )
                for s in added
            ],
            batch_size=CHUNK,
            ignore_conflicts=True,
        )
    return changes


@transaction.atomic
def assertion_set(
    *,
    dataset_id: int,
    attribute: str,
    value: str,
    actor: str,
    reason: str,
    field: str = "",
    present: bool = True,
) -> GovernanceAssertion:
    """A staff edit: set (or, with ``present=False``, override away) a governance value.

    A staff value beats every other source. For single-valued attributes it replaces the
    previous staff value; for classifications, owners and stewards it adds to the set.
    """
    if not actor or not reason:
        raise CatalogInvalid("a staff edit needs who and why")
    if attribute not in Attribute.values:
        raise CatalogInvalid(f"unknown attribute: {attribute}")
    value = normalise_value(attribute, value)
    if not value:
        raise CatalogInvalid("the value is empty")
    dataset = Dataset.objects.select_related("namespace").get(pk=dataset_id)
    if attribute == Attribute.CLASSIFICATION:
        classifications_ensure([value])
    current = GovernanceAssertion.objects.select_for_update().filter(
        dataset=dataset, field=field, attribute=attribute, source=Source.ADMIN, valid_to_seq__isnull=True
    )
    if attribute in MULTI_VALUED:
        current = current.filter(value=value)
    same = [a for a in current if a.value == value and a.present == present]
    if same and len(same) == len(current):
        return same[0]
    entry = _record(
        action="governance.edited",
        subject=dataset.node_id + (f":{field}" if field else ""),
        actor=actor,
        details={"attribute": attribute, "value": value, "present": present, "reason": reason},
    )
    current.update(valid_to_seq=entry.seq)
    catalog_refresh_after_commit(dataset_ids=[dataset.pk])
    return GovernanceAssertion.objects.create(
        dataset=dataset,
        field=field,
        attribute=attribute,
        value=value,
        present=present,
        source=Source.ADMIN,
        precedence=PRECEDENCE[Source.ADMIN],
        actor=actor,
        reason=reason,
        first_seq=entry.seq,
    )


@transaction.atomic
def assertion_withdraw(*, assertion_id: int, actor: str, reason: str) -> None:
    """Withdraw a staff value; what other sources say applies again."""
    assertion = (
        GovernanceAssertion.objects.select_for_update().select_related("dataset__namespace").get(pk=assertion_id)
    )
    if assertion.valid_to_seq is not None:
        return
    if assertion.source != Source.ADMIN:
        raise CatalogInvalid("only staff values can be withdrawn; override the others instead")
    entry = _record(
        action="governance.withdrawn",
        subject=assertion.dataset.node_id + (f":{assertion.field}" if assertion.field else ""),
        actor=actor,
        details={"attribute": assertion.attribute, "value": assertion.value, "reason": reason},
    )
    GovernanceAssertion.objects.filter(pk=assertion.pk).update(valid_to_seq=entry.seq)
    catalog_refresh_after_commit(dataset_ids=[assertion.dataset_id])


@transaction.atomic
def governance_rule_add(
    *,
    name: str,
    attribute: str,
    value: str,
    actor: str,
    namespace_pattern: str = "*",
    name_pattern: str = "*",
    field_pattern: str = "",
) -> GovernanceRule:
    """Add a pattern rule (e.g. ``s3://eu-*`` → jurisdiction EU) and apply it to known datasets."""
    if field_pattern and attribute != Attribute.CLASSIFICATION:
        raise CatalogInvalid("column rules can only set classifications")
    value = normalise_value(attribute, value)
    rule, created = GovernanceRule.objects.get_or_create(
        attribute=attribute,
        value=value,
        namespace_pattern=namespace_pattern,
        name_pattern=name_pattern,
        field_pattern=field_pattern,
        defaults={"name": name, "created_by": actor},
    )
    if created:
        entry = _record(
            action="governance.rule_added",
            subject=f"rule:{rule.pk}",
            actor=actor,
            details={
                "name": name,
                "attribute": attribute,
                "value": value,
                "namespace": namespace_pattern,
                "name_pattern": name_pattern,
                "field": field_pattern,
            },
        )
        GovernanceRule.objects.filter(pk=rule.pk).update(first_seq=entry.seq)
    if attribute == Attribute.CLASSIFICATION:
        classifications_ensure([value])
    changes = governance_rules_apply()
    catalog_refresh_after_commit(dataset_ids={c.dataset_id for c in changes})
    return rule


def _rule_matcher(pattern: str) -> Callable[[str], bool]:
    """``pattern`` as the ``__regex`` lookup would match it (same regex, ``re.search`` semantics)."""
    if pattern == "*":
        return lambda _value: True
    search = re.compile(glob_regex(pattern)).search
    return lambda value: search(value) is not None


def governance_rules_apply(*, dataset_ids: Iterable[int] | None = None) -> list[Change]:
    """Recompute rule-sourced values for the given datasets (all when None). Idempotent.

    Column rules match the column names the producer's latest schema facet declared, as far as
    the catalog knows them (``dataset_columns``).

    Rules are matched in Python against the batch's (namespace, name) pairs, read in one query,
    instead of one ``__regex`` query per rule and batch: the sweep calls this for every dataset,
    and those queries (each carrying the batch's ids) were most of its cost. The regex is the one
    the lookup used; a namespace pattern is tried once per namespace, not once per dataset.
    """
    from catalog.selectors import dataset_columns

    rules = list(GovernanceRule.objects.filter(enabled=True))
    matchers = [(rule, _rule_matcher(rule.namespace_pattern), _rule_matcher(rule.name_pattern)) for rule in rules]
    datasets = Dataset.objects.all()
    if dataset_ids is not None:
        datasets = datasets.filter(pk__in=list(dataset_ids))
    all_changes: list[Change] = []
    rows = list(datasets.values_list("pk", "namespace__name", "name").order_by("pk"))
    for batch_rows in _chunks(rows, 2000):
        batch = [pk for pk, _ns, _name in batch_rows]
        scope: set[tuple[int, str, str]] = set()
        desired: list[AssertionSpec] = []
        # Every dataset in the batch is in scope for dataset-level attributes any rule sets, so a
        # rule that stops matching (or is disabled) loses its values.
        attributes = set(Attribute.values)
        for dataset_id in batch:
            for attribute in attributes:
                scope.add((dataset_id, "", attribute))
        columns = dataset_columns(dataset_ids=batch)
        for dataset_id, cols in columns.items():
            for col in cols:
                scope.add((dataset_id, col, Attribute.CLASSIFICATION))
        by_namespace: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, namespace, name in batch_rows:
            by_namespace[namespace].append((pk, name))
        for rule, namespace_matches, name_matches in matchers:
            matched = sorted(
                pk
                for namespace, members in by_namespace.items()
                if namespace_matches(namespace)
                for pk, name in members
                if name_matches(name)
            )
            for dataset_id in matched:
                evidence = {"rule": rule.pk, "rule_name": rule.name}
                if not rule.field_pattern:
                    desired.append(AssertionSpec(dataset_id, "", rule.attribute, rule.value, evidence, rule.pk))
                    continue
                for col in columns.get(dataset_id, ()):
                    if glob_match(col, rule.field_pattern):
                        desired.append(AssertionSpec(dataset_id, col, rule.attribute, rule.value, evidence, rule.pk))
        all_changes += assertions_reconcile(
            source=Source.RULE, scope=scope, desired=desired, action="governance.rule_applied"
        )
    return all_changes
