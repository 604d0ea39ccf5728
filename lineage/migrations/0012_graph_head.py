"""The graph's own head: how far the ledger has been folded.

Until now every event was folded in its intake transaction, so an existing database has folded
its whole ledger: the graph head starts at the ledger head.
"""

from django.db import migrations, models
from django.db.models import Q


def start_at_the_ledger_head(apps, schema_editor):
    LedgerHead = apps.get_model("lineage", "LedgerHead")
    GraphHead = apps.get_model("lineage", "GraphHead")
    head = LedgerHead.objects.filter(id=1).first()
    GraphHead.objects.create(id=1, seq=head.seq if head else 0)


class Migration(migrations.Migration):
    dependencies = [
        ("lineage", "0011_graph_checkpoints"),
    ]

    operations = [
        migrations.CreateModel(
            name="GraphHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=Q(id=1), name="graphhead_singleton")],
            },
        ),
        migrations.CreateModel(
            name="FoldFailure",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("error", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(start_at_the_ledger_head, migrations.RunPython.noop),
    ]
