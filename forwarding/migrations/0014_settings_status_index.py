# The sync_status filter of the people list and API (forwarding.bulk.selectors.people_for)
# finds the failed people of a large org by this index instead of reading everybody's
# settings. CONCURRENTLY on PostgreSQL (the table has a row per person and keeps taking
# writes meanwhile), hence atomic = False; a plain index elsewhere (SQLite).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


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
        ("forwarding", "0013_bulk_draft_warnings"),
    ]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="forwardingsettings",
            index=models.Index(fields=["sync_status", "person"], name="fwd_status_person_idx"),
        ),
    ]
