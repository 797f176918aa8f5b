# The people list's and the API's `sync_status=behind` filter (forwarding.rules.people_lists)
# finds the people whose change is still on its way (and not failed) by this partial index,
# a few entries per org, instead of walking the org by name and reading every person's
# settings. CONCURRENTLY on PostgreSQL (the table has a row per person and keeps taking
# writes meanwhile), hence atomic = False; a plain index elsewhere (SQLite).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models import F, Q


class AddIndexConcurrentlyWherePossible(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        schema_editor.add_index(model, self.index)
        return None

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        schema_editor.remove_index(model, self.index)
        return None


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("forwarding", "0016_org_policies"),
    ]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="forwardingsettings",
            index=models.Index(
                condition=Q(version__gt=F("synced_version")) & ~Q(sync_status="failed"),
                fields=["person"], name="fwd_behind_person_idx",
            ),
        ),
    ]
