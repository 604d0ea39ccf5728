"""Make the ledger append-only in the database itself, and create the ledger head row."""

from __future__ import annotations

from django.db import migrations

GENESIS_HASH = "0" * 64

SQLITE_FORWARD = [
    """
    CREATE TRIGGER lineage_ledgerentry_no_update BEFORE UPDATE ON lineage_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE refused'); END;
    """,
    """
    CREATE TRIGGER lineage_ledgerentry_no_delete BEFORE DELETE ON lineage_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: DELETE refused'); END;
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS lineage_ledgerentry_no_update;",
    "DROP TRIGGER IF EXISTS lineage_ledgerentry_no_delete;",
]
POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION lineage_ledger_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER lineage_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON lineage_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION lineage_ledger_refuse_change();
    """,
    """
    CREATE TRIGGER lineage_ledgerentry_no_truncate
    BEFORE TRUNCATE ON lineage_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION lineage_ledger_refuse_change();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS lineage_ledgerentry_no_truncate ON lineage_ledgerentry;",
    "DROP TRIGGER IF EXISTS lineage_ledgerentry_append_only ON lineage_ledgerentry;",
    "DROP FUNCTION IF EXISTS lineage_ledger_refuse_change();",
]


def forward(apps, schema_editor):
    statements = POSTGRES_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for sql in statements:
        schema_editor.execute(sql, None)
    LedgerHead = apps.get_model("lineage", "LedgerHead")
    LedgerHead.objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"seq": 0, "chain_hash": GENESIS_HASH}
    )


def backward(apps, schema_editor):
    statements = POSTGRES_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for sql in statements:
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("lineage", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
