# Bulk jobs (CSV import, bulk edit, undo) and their rows.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('forwarding', '0003_push_attempts'),
        ('portal', '0003_push_pacing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BulkJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('import', 'CSV import'), ('edit', 'Bulk edit'), ('undo', 'Undo')], max_length=8)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done')], default='queued', max_length=8)),
                ('description', models.CharField(blank=True, max_length=300)),
                ('filename', models.CharField(blank=True, max_length=200)),
                ('created_by_label', models.CharField(max_length=200)),
                ('ip', models.GenericIPAddressField(blank=True, null=True)),
                ('correlation_id', models.CharField(db_index=True, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='bulk_jobs', to='portal.organization')),
                ('undo_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='undone_by', to='forwarding.bulkjob')),
                ('via_partner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='portal.organization')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='BulkJobRow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('line', models.PositiveIntegerField()),
                ('key', models.CharField(blank=True, max_length=254)),
                ('person_label', models.CharField(blank=True, max_length=200)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('applied', 'Applied'), ('unchanged', 'Already so'), ('failed', 'Failed'), ('invalid', 'Invalid')], default='pending', max_length=10)),
                ('changes', models.JSONField(default=dict)),
                ('expected_version', models.PositiveIntegerField(blank=True, null=True)),
                ('errors', models.JSONField(blank=True, default=dict)),
                ('previous', models.JSONField(blank=True, null=True)),
                ('written', models.JSONField(blank=True, null=True)),
                ('new_version', models.PositiveIntegerField(blank=True, null=True)),
                ('guard', models.JSONField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rows', to='forwarding.bulkjob')),
                ('person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='portal.person')),
            ],
            options={
                'ordering': ['line', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='bulkjob',
            index=models.Index(fields=['org', '-created_at'], name='forwarding__org_id_026870_idx'),
        ),
        migrations.AddIndex(
            model_name='bulkjobrow',
            index=models.Index(fields=['job', 'status'], name='forwarding__job_id_5a03f8_idx'),
        ),
    ]
