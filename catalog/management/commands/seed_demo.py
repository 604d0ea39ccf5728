from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from catalog import demo
from catalog.evaluation import catalog_evaluate_all
from catalog.models import AISystem, Finding, FindingStatus, GovernanceAssertion
from catalog.selectors import system_energy
from catalog.services import (
    governance_rule_add,
    system_declare,
    system_member_add,
    system_register,
    system_rule_add,
)
from lineage.models import Dataset
from lineage.services import events_ingest

ACTOR = "seed_demo"


class Command(BaseCommand):
    help = "Load the demo AI factory through the real intake, register its systems and check policies (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = events_ingest(events=demo.demo_events())
        invalid = [r for r in outcome.results if r.status not in ("accepted", "duplicate")]
        if invalid:
            raise RuntimeError(f"demo events rejected: {invalid[:3]}")
        self.stdout.write(
            f"Demo scenario: {outcome.count('accepted')} events accepted, {outcome.count('duplicate')} already present."
        )
        self._catalog()
        summary = catalog_evaluate_all()
        self._report(summary.subjects)

    def _catalog(self) -> None:
        systems = {}
        for fields in (demo.CREDIT, demo.ASSISTANT_SYSTEM):
            fields = dict(fields)
            slug, name = fields.pop("slug"), fields.pop("name")
            systems[slug] = system_register(slug=slug, name=name, actor=ACTOR, **fields)
        for name, attribute, value, namespace in demo.GOVERNANCE_RULES:
            governance_rule_add(name=name, attribute=attribute, value=value, namespace_pattern=namespace, actor=ACTOR)
        for slug, role, target, kind, pattern in demo.SYSTEM_RULES:
            system_rule_add(
                system_id=systems[slug].pk, role=role, target=target, kind=kind, pattern=pattern, actor=ACTOR
            )
        for slug, role, namespace, name in demo.SYSTEM_DATASETS:
            dataset = Dataset.objects.get(namespace__name=namespace, name=name)
            system_member_add(system_id=systems[slug].pk, role=role, dataset_id=dataset.pk, actor=ACTOR)
        for slug, field, value in demo.DECLARATIONS:
            system_declare(system_id=systems[slug].pk, field=field, value=value, actor=ACTOR)

    def _report(self, subjects: int) -> None:
        open_findings = (
            Finding.objects.filter(status=FindingStatus.OPEN)
            .values("policy_key")
            .annotate(n=Count("id"))
            .order_by("policy_key")
        )
        inferred = GovernanceAssertion.objects.filter(source="propagation", valid_to_seq__isnull=True).count()
        self.stdout.write(f"Policies checked on {subjects} subjects; open findings:")
        for row in open_findings:
            self.stdout.write(f"  {row['policy_key']:<30} {row['n']}")
        self.stdout.write(f"Propagated classifications: {inferred}")
        for system in AISystem.objects.order_by("slug"):
            energy = system_energy(system_id=system.pk)
            self.stdout.write(f"Energy of {system.slug}: {energy.kwh:,.1f} kWh, {energy.kg_co2e:,.1f} kgCO2e")
