"""Trigram indexes for the people search (forwarding.rules.people_lists.people_search_condition):
"contains" on a name, an address or a number cannot use a B-tree, so at 200,000 people
every search read the whole org. pg_trgm's GIN indexes serve LIKE '%...%' on exactly the
expressions Django writes for the lookups: UPPER(col::text) for icontains (name, email,
SIP URI), col::text for contains (number, extension).

PostgreSQL only, and outside the migration state: the SQLite demo database has no
pg_trgm, and SQLite copies a table with every index of the state when it alters it.
Built CONCURRENTLY (a large portal_person keeps taking writes), hence atomic = False.
pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
"""

from django.db import migrations

INDEXES = {
    "person_name_trgm_idx": "(UPPER((display_name)::text)) gin_trgm_ops",
    "person_email_trgm_idx": "(UPPER((email)::text)) gin_trgm_ops",
    "person_sip_trgm_idx": "(UPPER((sip_uri)::text)) gin_trgm_ops",
    "person_phone_trgm_idx": "((phone_number)::text) gin_trgm_ops",
    "person_extension_trgm_idx": "((extension)::text) gin_trgm_ops",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON portal_person "
            f"USING gin ({expression})", params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("portal", "0009_outgoing_events")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
