# The API's sync_status filter within one org walks a status's people in name order
# (forwarding.rules.people_lists.StatusWalk): the settings row carries a copy of its
# person's org and name, kept by PostgreSQL triggers (bulk paths write both tables with
# raw SQL, so the services cannot be the ones to keep it), and two indexes order them.
# They replace 0014's fwd_status_person_idx and 0017's fwd_behind_person_idx, whose
# lookups they serve as well (the same leading column; the same predicate), so the
# table keeps as many indexes for a push to write (their entries are wider: the name).
#
# Not atomic: the indexes are built CONCURRENTLY on PostgreSQL (the table has a row per
# person and keeps taking writes). The copy and its triggers are one transaction that
# locks both tables against writes first, so no row is written between the backfill and
# the triggers. SQLite (the demo) gets the columns and indexes, no triggers: nothing
# reads the copies there.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.models import F, Q

COPY = """
LOCK TABLE portal_person, forwarding_forwardingsettings IN SHARE ROW EXCLUSIVE MODE;

UPDATE forwarding_forwardingsettings fs
   SET person_org_id = p.org_id, person_name = p.display_name
  FROM portal_person p
 WHERE p.id = fs.person_id;

-- A settings row takes its person's org and name when written, whatever it was given.
CREATE FUNCTION forwarding_settings_copy_person() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- FOR SHARE: a rename of this person that commits meanwhile cannot see this row
        -- yet (its trigger's UPDATE would miss it), so the insert waits for it and reads
        -- its name, or the rename waits for the insert and then updates this row.
        SELECT p.org_id, p.display_name INTO NEW.person_org_id, NEW.person_name
          FROM portal_person p WHERE p.id = NEW.person_id FOR SHARE;
    ELSE
        -- An UPDATE of the row is seen by a rename's UPDATE (the row lock orders them).
        SELECT p.org_id, p.display_name INTO NEW.person_org_id, NEW.person_name
          FROM portal_person p WHERE p.id = NEW.person_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER forwarding_settings_copy_person_insert
    BEFORE INSERT ON forwarding_forwardingsettings
    FOR EACH ROW EXECUTE FUNCTION forwarding_settings_copy_person();

-- Only when a write would change the copy (Django's full save of an instance read
-- before a rename; a push never touches these columns, so it costs nothing there).
CREATE TRIGGER forwarding_settings_copy_person_update
    BEFORE UPDATE ON forwarding_forwardingsettings
    FOR EACH ROW
    WHEN (NEW.person_id IS DISTINCT FROM OLD.person_id
          OR NEW.person_org_id IS DISTINCT FROM OLD.person_org_id
          OR NEW.person_name IS DISTINCT FROM OLD.person_name)
    EXECUTE FUNCTION forwarding_settings_copy_person();

-- A person renamed or moved to another org: their settings row follows.
CREATE FUNCTION forwarding_person_copy_to_settings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE forwarding_forwardingsettings
       SET person_org_id = NEW.org_id, person_name = NEW.display_name
     WHERE person_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER forwarding_person_copy_to_settings
    AFTER UPDATE OF org_id, display_name ON portal_person
    FOR EACH ROW
    WHEN (NEW.org_id IS DISTINCT FROM OLD.org_id
          OR NEW.display_name IS DISTINCT FROM OLD.display_name)
    EXECUTE FUNCTION forwarding_person_copy_to_settings();
"""

UNCOPY = """
DROP TRIGGER IF EXISTS forwarding_person_copy_to_settings ON portal_person;
DROP FUNCTION IF EXISTS forwarding_person_copy_to_settings();
DROP TRIGGER IF EXISTS forwarding_settings_copy_person_update ON forwarding_forwardingsettings;
DROP TRIGGER IF EXISTS forwarding_settings_copy_person_insert ON forwarding_forwardingsettings;
DROP FUNCTION IF EXISTS forwarding_settings_copy_person();
"""


def copy_forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COPY, params=None)


def copy_backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNCOPY, params=None)


class _WherePossible:
    """CONCURRENTLY on PostgreSQL; elsewhere (SQLite) the plain operation it extends."""

    def _run(self, name, app_label, schema_editor, from_state, to_state):
        postgresql = schema_editor.connection.vendor == "postgresql"
        kind = self.concurrent if postgresql else self.plain
        return getattr(kind, name)(self, app_label, schema_editor, from_state, to_state)

    def database_forwards(self, *args):
        return self._run("database_forwards", *args)

    def database_backwards(self, *args):
        return self._run("database_backwards", *args)


class AddIndexConcurrentlyWherePossible(_WherePossible, AddIndexConcurrently):
    concurrent, plain = AddIndexConcurrently, migrations.AddIndex


class RemoveIndexConcurrentlyWherePossible(_WherePossible, RemoveIndexConcurrently):
    concurrent, plain = RemoveIndexConcurrently, migrations.RemoveIndex


BEHIND = Q(version__gt=F("synced_version")) & ~Q(sync_status="failed")


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("forwarding", "0018_member_permissions"),
        ("portal", "0010_person_search_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="forwardingsettings",
            name="person_org",
            field=models.ForeignKey(
                blank=True, db_constraint=False, db_index=False, editable=False, null=True,
                on_delete=models.deletion.DO_NOTHING, related_name="+",
                to="portal.organization"),
        ),
        migrations.AddField(
            model_name="forwardingsettings",
            name="person_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.RunPython(copy_forwards, copy_backwards, atomic=True),
        AddIndexConcurrentlyWherePossible(
            model_name="forwardingsettings",
            index=models.Index(fields=["sync_status", "person_org", "person_name", "person"],
                               name="fwd_status_name_idx"),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name="forwardingsettings",
            index=models.Index(condition=BEHIND, fields=["person_org", "person_name", "person"],
                               name="fwd_behind_name_idx"),
        ),
        RemoveIndexConcurrentlyWherePossible(
            model_name="forwardingsettings", name="fwd_status_person_idx"),
        RemoveIndexConcurrentlyWherePossible(
            model_name="forwardingsettings", name="fwd_behind_person_idx"),
    ]
