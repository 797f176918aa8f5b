"""A larger statistics sample for the people search's columns (display name, email).

The search (forwarding.rules.people_lists.people_search_condition) is `LIKE '%...%'` on
UPPER(display_name) and UPPER(email), which the trigram indexes of 0010 serve. How many
people such a pattern matches, PostgreSQL estimates from ANALYZE's random sample of the
table (300 rows per unit of the statistics target, 30,000 by default). With 210,000
people in two orgs (bench/people_list.py), each ANALYZE drew a different sample and the
same search of an org of 10,000 ran, from one ANALYZE to the next, through the trigram
indexes (0.8-1.0 ms), the org's index (5.0-5.5 ms) or a walk of the name index (2.1 ms):
the 10,000-person org's p95 moved with it, and so did its ratio to the 200,000-person
org's (1.34x in one run, 0.99-1.07x in others). With a target of 1,000 (a sample of
300,000 rows) five ANALYZEs in a row gave the trigram plan at both sizes every time
(0.74-0.98 ms and 2.6-3.5 ms). ANALYZE reads more rows for it, which autovacuum does in
the background.

PostgreSQL only (SQLite, the demo, has no such statistics).
"""

from django.db import migrations

COLUMNS = ("display_name", "email")
TARGET = 1000


def _set(schema_editor, target):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE portal_person ALTER COLUMN {column} SET STATISTICS {target}",
            params=None)
    schema_editor.execute("ANALYZE portal_person", params=None)


def forwards(apps, schema_editor):
    _set(schema_editor, TARGET)


def backwards(apps, schema_editor):
    _set(schema_editor, -1)


class Migration(migrations.Migration):
    dependencies = [("portal", "0011_person_list_order_index")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
