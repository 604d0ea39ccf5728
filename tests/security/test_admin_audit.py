"""Every admin change is recorded in the hash-chained ledger, not only in Django's editable LogEntry."""

from __future__ import annotations

import orjson
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from config.admin_audit import AuditedModelAdmin
from lineage.ledger import ledger_verify
from lineage.models import ApiKey, LedgerEntry
from lineage.services import api_key_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw"))
    return client


def _decisions(action: str) -> list[dict]:
    payloads = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.GOVERNANCE).order_by("seq").values_list("payload", flat=True)
    )
    return [d for d in map(orjson.loads, payloads) if d["action"] == action]


def test_every_registered_model_admin_records_its_changes() -> None:
    unaudited = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedModelAdmin)
    ]

    assert unaudited == []


def test_adding_an_object_in_the_admin_appends_a_ledger_entry(admin_client: Client) -> None:
    response = admin_client.post("/admin/auth/group/add/", {"name": "stewards"})

    assert response.status_code == 302
    (decision,) = _decisions("admin.add")
    group = Group.objects.get(name="stewards")
    assert decision["subject"] == f"auth.group:{group.pk}"
    assert decision["actor"] == "user:root"
    assert decision["details"]["values"]["name"] == "stewards"
    assert ledger_verify().ok


def test_changing_an_object_records_what_changed_and_the_new_values(admin_client: Client) -> None:
    group = Group.objects.create(name="viewers")

    admin_client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "auditors"})

    (decision,) = _decisions("admin.change")
    assert decision["details"]["change"] == [{"changed": {"fields": ["Name"]}}]
    assert decision["details"]["values"]["name"] == "auditors"
    assert LogEntry.objects.count() == 1


def test_deleting_an_object_records_what_was_deleted(admin_client: Client) -> None:
    group = Group.objects.create(name="temporary")

    admin_client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    (decision,) = _decisions("admin.delete")
    assert decision["subject"] == f"auth.group:{group.pk}"
    assert decision["details"]["values"]["name"] == "temporary"
    assert not Group.objects.filter(pk=group.pk).exists()


def test_bulk_delete_records_each_object(admin_client: Client) -> None:
    groups = [Group.objects.create(name=f"g{i}") for i in range(3)]

    admin_client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": [g.pk for g in groups], "post": "yes"},
    )

    assert sorted(d["details"]["values"]["name"] for d in _decisions("admin.delete")) == ["g0", "g1", "g2"]
    assert _decisions("admin.action") == []


def test_a_custom_admin_action_is_recorded_with_the_objects_it_touched(admin_client: Client) -> None:
    key = api_key_issue(name="ci").api_key

    admin_client.post("/admin/lineage/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    (decision,) = _decisions("admin.action")
    assert decision["details"] == {"action": "revoke", "objects": [str(key.pk)]}
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_the_confirmation_step_of_a_bulk_delete_records_nothing(admin_client: Client) -> None:
    group = Group.objects.create(name="kept")

    admin_client.post("/admin/auth/group/", {"action": "delete_selected", "_selected_action": [group.pk]})

    assert LedgerEntry.objects.count() == 0


def test_passwords_and_key_hashes_never_reach_the_ledger(admin_client: Client) -> None:
    user = get_user_model().objects.create_user("bob", password="old password 123")

    admin_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "a new long password 987", "password2": "a new long password 987", "usable_password": "true"},
    )
    admin_client.post("/admin/lineage/apikey/add/", {"name": "pipeline-x", "namespaces": "[]"})

    ledger = " ".join(LedgerEntry.objects.values_list("payload", flat=True))
    user.refresh_from_db()
    assert _decisions("admin.change")
    assert _decisions("admin.add")
    assert user.password not in ledger
    assert ApiKey.objects.get(name="pipeline-x").key_hash not in ledger
    assert "[redacted]" in ledger
