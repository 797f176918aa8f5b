"""TRUNCATE skips row-level triggers, so 0002's trigger does not stop it: on PostgreSQL a
statement-level trigger refuses it too (same function: 'TRUNCATE refused'). The table
owner can still drop the trigger on purpose; no statement empties the log by mistake,
`manage.py flush` included. No-op on SQLite (no TRUNCATE there)."""

from django.db import migrations

CREATE = """
CREATE TRIGGER portal_auditevent_no_truncate
    BEFORE TRUNCATE ON portal_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION portal_auditevent_append_only();
"""

DROP = "DROP TRIGGER IF EXISTS portal_auditevent_no_truncate ON portal_auditevent;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_person_line_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
