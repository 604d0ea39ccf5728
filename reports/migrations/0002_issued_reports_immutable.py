"""Refuse, in the database itself, any change to what an issued report contains."""

from __future__ import annotations

from django.db import migrations

IMMUTABLE = ("report_id", "system_id", "kind", "as_of_seq", "ledger_head_hash", "issued_by", "issued_at",
             "content_hash", "evidence", "pdf", "file_sha256", "file_size", "signed")

_changed_sqlite = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in IMMUTABLE)
_changed_pg = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in IMMUTABLE)

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER reports_report_issued_immutable BEFORE UPDATE ON reports_report
    WHEN OLD.status = 'issued' AND (NEW.status IS NOT 'issued' OR {_changed_sqlite})
    BEGIN SELECT RAISE(ABORT, 'an issued report is immutable: UPDATE refused'); END;
    """,
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS reports_report_issued_immutable;"]
POSTGRES_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION reports_report_refuse_change() RETURNS trigger AS $$
    BEGIN
        IF OLD.status = 'issued' AND (NEW.status IS DISTINCT FROM 'issued' OR {_changed_pg}) THEN
            RAISE EXCEPTION 'an issued report is immutable: UPDATE refused'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER reports_report_issued_immutable BEFORE UPDATE ON reports_report
    FOR EACH ROW EXECUTE FUNCTION reports_report_refuse_change();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS reports_report_issued_immutable ON reports_report;",
    "DROP FUNCTION IF EXISTS reports_report_refuse_change();",
]


def forward(apps, schema_editor):
    statements = POSTGRES_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for sql in statements:
        schema_editor.execute(sql, None)


def backward(apps, schema_editor):
    statements = POSTGRES_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for sql in statements:
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
