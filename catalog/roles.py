"""Who may do what: the roles of Tracemark's people, as Django groups with model permissions.

- administrator: a superuser — everything, including users, keys and roles.
- steward: staff who keep the catalog — view everything; add and change governance data, AI
  systems, policies, findings (waivers) and auditor grants; issue reports.
- viewer: staff who look — view permissions only; every write anywhere is refused.
- auditor: not staff — the auditor portal only, and there only the systems granted to them
  (``AuditorGrant``, optionally expiring).
- producer: not a person — an API key scoped to namespaces (``lineage.ApiKey``); it writes events
  and reads nothing.

``roles_sync()`` creates the groups and gives them their permissions; it runs after every
``migrate`` (so new models join the roles) and as ``manage.py sync_roles``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from catalog.exceptions import CatalogInvalid

STEWARD, VIEWER, AUDITOR, ADMINISTRATOR = "steward", "viewer", "auditor", "administrator"
ROLES = (ADMINISTRATOR, STEWARD, VIEWER, AUDITOR)
GROUPS = {STEWARD: "Stewards", VIEWER: "Viewers", AUDITOR: "Auditors"}

# Apps whose data staff may see.
VIEWABLE_APPS = ("lineage", "catalog", "reports")
# What a steward may add or change (app label, model). Ledger, graph and issued reports are
# never edited by hand: they change only through the intake and the services.
STEWARD_WRITES = {
    ("catalog", "aisystem"): ("add", "change"),
    ("catalog", "systemmember"): ("add", "change"),
    ("catalog", "systemrule"): ("add", "change"),
    ("catalog", "systemdeclaration"): ("add", "change"),
    ("catalog", "classification"): ("add", "change"),
    ("catalog", "governancerule"): ("add", "change"),
    ("catalog", "governanceassertion"): ("add", "change"),
    ("catalog", "policy"): ("add", "change"),
    ("catalog", "finding"): ("change",),
    ("catalog", "auditorgrant"): ("add", "change"),
    ("reports", "report"): ("add",),
}


def _permissions_for(role: str) -> list[Permission]:
    if role == AUDITOR:
        return []
    view = Permission.objects.filter(content_type__app_label__in=VIEWABLE_APPS, codename__startswith="view_")
    if role == VIEWER:
        return list(view)
    wanted = {f"{action}_{model}" for (_app, model), actions in STEWARD_WRITES.items() for action in actions}
    writes = Permission.objects.filter(content_type__app_label__in=VIEWABLE_APPS, codename__in=wanted)
    return [*view, *writes]


@transaction.atomic
def roles_sync(**_signal_kwargs: Any) -> dict[str, int]:
    """Create the role groups and set their permissions exactly (idempotent); return counts."""
    counts = {}
    for role, name in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = _permissions_for(role)
        group.permissions.set(permissions)
        counts[role] = len(permissions)
    return counts


def user_role(user: Any) -> str:
    """The role of a signed-in user ('' for anonymous or a user without one)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if user.is_superuser:
        return ADMINISTRATOR
    names = set(user.groups.values_list("name", flat=True))
    for role in (STEWARD, VIEWER, AUDITOR):
        if GROUPS[role] in names:
            return role
    return ""


def is_auditor(user: Any) -> bool:
    """A signed-in person who is not staff and holds the auditor role (grants are checked apart)."""
    return bool(getattr(user, "is_authenticated", False)) and not user.is_staff and user_role(user) == AUDITOR


@dataclass(frozen=True)
class CreatedUser:
    username: str
    role: str
    password: str


@transaction.atomic
def user_create(*, username: str, role: str, email: str = "", password: str | None = None) -> CreatedUser:
    """Create a person with one role; a password is generated when none is given."""
    if role not in ROLES:
        raise CatalogInvalid(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    roles_sync()
    password = password or secrets.token_urlsafe(15)
    model = get_user_model()
    if model.objects.filter(username=username).exists():
        raise CatalogInvalid(f"a user named {username!r} already exists")
    user = model.objects.create_user(
        username=username,
        email=email,
        password=password,
        is_staff=role in (ADMINISTRATOR, STEWARD, VIEWER),
        is_superuser=role == ADMINISTRATOR,
    )
    if role in GROUPS:
        user.groups.add(Group.objects.get(name=GROUPS[role]))
    return CreatedUser(username=username, role=role, password=password)
