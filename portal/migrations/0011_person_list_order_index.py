"""The people list's order within an org (name, then id) in one index, with the id in it:
a deep page of the list reads its ids from the index alone (an index-only scan once the
table is vacuumed) and then fetches only its own rows
(forwarding.rules.people_lists.slice_rows). It replaces the (org, name) index, which
served the same order without the tie-break. The new index is built before the old one
is dropped, so the list always has one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0010_person_search_trigram"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["org", "display_name", "id"],
                               name="person_org_name_id_idx"),
        ),
        migrations.RemoveIndex(
            model_name="person",
            name="portal_pers_org_id_8344a7_idx",
        ),
    ]
