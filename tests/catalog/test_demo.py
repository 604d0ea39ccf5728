from __future__ import annotations

import pytest
from django.core.management import call_command

from catalog.models import Finding, GovernanceAssertion
from catalog.selectors import system_energy, system_get
from lineage.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_findings_propagated_classifications_and_energy_at_once() -> None:
    call_command("seed_demo", stdout=None)

    open_policies = set(Finding.objects.filter(status="open").values_list("policy_key", flat=True))
    assert {
        "data-residency",
        "cross-border-transfer",
        "personal-data-legal-basis",
        "failed-upstream-runs",
    } <= open_policies
    assert GovernanceAssertion.objects.filter(source="propagation", valid_to_seq__isnull=True).exists()
    assert system_energy(system_id=system_get(slug="credit-scoring").pk).kwh > 0


def test_seed_demo_twice_adds_nothing_to_the_ledger() -> None:
    call_command("seed_demo")
    entries = LedgerEntry.objects.count()

    call_command("seed_demo")

    assert LedgerEntry.objects.count() == entries
