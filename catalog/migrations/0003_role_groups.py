"""Create the steward, viewer and auditor groups with their model permissions.

A frozen copy of ``catalog.roles`` as it stood when this was written (migrations do not import app
code); models added later join the roles through ``roles_sync``, which runs after every migrate
and as ``manage.py sync_roles``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWABLE_APPS = ("lineage", "catalog", "reports")
STEWARD_WRITES = (
    "add_aisystem",
    "change_aisystem",
    "add_systemmember",
    "change_systemmember",
    "add_systemrule",
    "change_systemrule",
    "add_systemdeclaration",
    "change_systemdeclaration",
    "add_classification",
    "change_classification",
    "add_governancerule",
    "change_governancerule",
    "add_governanceassertion",
    "change_governanceassertion",
    "add_policy",
    "change_policy",
    "change_finding",
    "add_auditorgrant",
    "change_auditorgrant",
    "add_report",
)
GROUPS = ("Stewards", "Viewers", "Auditors")


def forward(apps, schema_editor):
    # Permissions are normally created after the whole migrate run; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label__in=VIEWABLE_APPS, codename__startswith="view_")
    writes = Permission.objects.filter(content_type__app_label__in=VIEWABLE_APPS, codename__in=STEWARD_WRITES)
    stewards, _ = Group.objects.get_or_create(name="Stewards")
    stewards.permissions.set([*view, *writes])
    viewers, _ = Group.objects.get_or_create(name="Viewers")
    viewers.permissions.set(list(view))
    auditors, _ = Group.objects.get_or_create(name="Auditors")
    auditors.permissions.clear()  # the portal checks grants, not model permissions


def backward(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0002_auditor_grants"),
        ("lineage", "0011_graph_checkpoints"),
        ("reports", "0002_issued_reports_immutable"),
    ]

    operations = [migrations.RunPython(forward, backward)]
