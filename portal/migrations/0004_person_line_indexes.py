# Indexes for loop checks (forwarding.validation.LineIndex): the person behind a
# destination is found by (org, line) instead of normalising the whole org on each edit.
# The SIP one indexes the same expression as portal.models.tenancy.sip_line_key.
# Built CONCURRENTLY so that a large portal_person table keeps taking writes meanwhile;
# that cannot run inside a transaction, hence atomic = False.

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyWherePossible(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain index elsewhere (the SQLite demo database),
    where the SIP expression index is skipped: SQLite has no split_part/regexp_replace,
    and forwarding.validation.LineIndex loads the whole (small) org there instead."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.index.expressions:
            return None
        model = to_state.apps.get_model(app_label, self.model_name)
        schema_editor.add_index(model, self.index)
        return None

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        if self.index.expressions:
            return None
        model = from_state.apps.get_model(app_label, self.model_name)
        schema_editor.remove_index(model, self.index)
        return None


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('portal', '0003_push_pacing'),
    ]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name='person',
            index=models.Index(fields=['org', 'phone_number'], name='person_org_phone_idx'),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name='person',
            index=models.Index(fields=['org', 'extension'], name='person_org_extension_idx'),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name='person',
            index=models.Index(
                models.F('org'),
                models.Func(
                    models.Func(
                        django.db.models.functions.text.Lower('sip_uri'),
                        models.Value(';'), models.Value(1),
                        function='split_part', output_field=models.CharField(),
                    ),
                    models.Value('sips:'), models.Value('sip:'),
                    function='regexp_replace', output_field=models.CharField(),
                ),
                name='person_org_sip_key_idx',
            ),
        ),
    ]
