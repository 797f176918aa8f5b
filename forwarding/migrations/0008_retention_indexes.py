"""Indexes on started_at, by which retention finds the oldest push attempts and calls.

On PostgreSQL built CONCURRENTLY: both tables are written on every push and every call,
and a plain CREATE INDEX would block those writes for as long as it takes on a big table.
"""

from django.db import migrations, models

INDEXES = [
    ("callrecord", models.Index(fields=["started_at"], name="call_started_idx")),
    ("pushattempt", models.Index(fields=["started_at"], name="pushattempt_started_idx")),
]


def forwards(apps, schema_editor):
    for model_name, index in INDEXES:
        model = apps.get_model("forwarding", model_name)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index.name} "
                f"ON {model._meta.db_table} (started_at)", params=None)
        else:
            schema_editor.add_index(model, index)


def backwards(apps, schema_editor):
    for model_name, index in INDEXES:
        schema_editor.remove_index(apps.get_model("forwarding", model_name), index)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ('forwarding', '0007_bulk_job_stopped'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name=name, index=index)
                              for name, index in INDEXES],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
