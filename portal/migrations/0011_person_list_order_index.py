"""The people list's order within an org (name, then id) in one index, with the id in it:
a deep page of the list reads its ids from the index alone (an index-only scan once the
table is vacuumed) and then fetches only its own rows
(forwarding.rules.people_lists.slice_rows). It replaces the (org, name) index, which
served the same order without the tie-break.

On PostgreSQL both are done CONCURRENTLY, the new index built before the old one is
dropped: an org of 200,000 people keeps taking writes (and the list keeps an index)
while it builds. Hence atomic = False. Elsewhere (the SQLite demo) the ordinary schema
editor does the same. The migration state is the models' either way.
"""

from django.db import migrations, models

NEW = models.Index(fields=["org", "display_name", "id"], name="person_org_name_id_idx")
OLD = models.Index(fields=["org", "display_name"], name="portal_pers_org_id_8344a7_idx")


def _swap(apps, schema_editor, add, drop):
    person = apps.get_model("portal", "Person")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(person, add, concurrently=True)
        schema_editor.remove_index(person, drop, concurrently=True)
    else:
        schema_editor.add_index(person, add)
        schema_editor.remove_index(person, drop)


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, NEW, OLD)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, OLD, NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0010_person_search_trigram"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="person", index=NEW),
                migrations.RemoveIndex(model_name="person", name=OLD.name),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
