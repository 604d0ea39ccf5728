"""Two AI systems with an issued report each, and an auditor granted one of them (the other expired).

Built per test through the real services (as tests/reports do): issued reports and the ledger are
immutable, so data shared across tests would outlive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from catalog import services as catalog
from catalog.models import AISystem, AuditorGrant
from catalog.roles import AUDITOR, user_create
from lineage.models import LedgerHead
from reports.models import Report
from reports.services import report_issue
from tests.reports.scenario import STAFF, build_scenario, fixed_clock

GRANTED, EXPIRED = "credit-scoring", "factory-assistant"


@dataclass(frozen=True)
class PortalData:
    granted: Report  # an issued report of the system the auditor may see
    expired: Report  # an issued report of the system whose grant has expired
    auditor: AbstractBaseUser
    password: str


def _second_system_register() -> None:
    catalog.system_register(
        slug=EXPIRED,
        name="Factory assistant",
        actor=STAFF,
        provider="Factory Bank AG",
        intended_purpose="Answer shop-floor questions from the maintenance manuals.",
        risk_tier="limited",
    )


def systems_register() -> None:
    """Both systems without lineage or reports: enough for tests about who gets in."""
    catalog.system_register(slug=GRANTED, name="Credit scoring", actor=STAFF, risk_tier="high-risk")
    _second_system_register()


def reports_build() -> tuple[Report, Report]:
    """Issue an Annex IV report for the credit-scoring system and for a second, bare system."""
    with fixed_clock():
        build_scenario()
        _second_system_register()
    seq = LedgerHead.objects.get(id=1).seq
    granted = report_issue(system_slug=GRANTED, kind="annex-iv", as_of_seq=seq, requested_by=STAFF)
    expired = report_issue(system_slug=EXPIRED, kind="annex-iv", as_of_seq=seq, requested_by=STAFF)
    return granted, expired


def auditor_with_grants(username: str = "olga.auditor") -> tuple[AbstractBaseUser, str]:
    """An auditor with a live 30-day grant to the credit-scoring system and an expired one to the other."""
    created = user_create(username=username, role=AUDITOR)
    user = get_user_model().objects.get(username=username)
    now = timezone.now()
    for slug, expires_at in ((GRANTED, now + timedelta(days=30)), (EXPIRED, now - timedelta(days=1))):
        AuditorGrant.objects.create(
            user=user, system=AISystem.objects.get(slug=slug), granted_by=STAFF, expires_at=expires_at
        )
    return user, created.password


def portal_data_build() -> PortalData:
    granted, expired = reports_build()
    user, password = auditor_with_grants()
    return PortalData(granted=granted, expired=expired, auditor=user, password=password)
