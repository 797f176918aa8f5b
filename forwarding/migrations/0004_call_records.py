# Call records of call-time providers (the Microsoft Graph bot): one row per call.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('forwarding', '0003_push_attempts'),
        ('portal', '0003_push_pacing'),
    ]

    operations = [
        migrations.CreateModel(
            name='CallRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider_call_id', models.CharField(max_length=200)),
                ('api_version', models.CharField(max_length=8)),
                ('line_id', models.CharField(blank=True, max_length=200)),
                ('caller_kind', models.CharField(blank=True, max_length=16)),
                ('caller_id', models.CharField(blank=True, max_length=200)),
                ('caller_label', models.CharField(blank=True, max_length=200)),
                ('state', models.CharField(default='incoming', max_length=16)),
                ('rule', models.CharField(blank=True, max_length=32)),
                ('explanation', models.CharField(blank=True, max_length=500)),
                ('targets', models.JSONField(blank=True, default=list)),
                ('target_labels', models.JSONField(blank=True, default=list)),
                ('disposition', models.CharField(blank=True, max_length=8)),
                ('timeout', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('redirect_status', models.CharField(choices=[('pending', 'Waiting for a worker'), ('sending', 'Sending'), ('retrying', 'Retrying'), ('redirected', 'Redirected'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('redirect_attempts', models.PositiveSmallIntegerField(default=0)),
                ('redirect_body', models.JSONField(blank=True, null=True)),
                ('redirect_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('redirect_error', models.CharField(blank=True, max_length=500)),
                ('latency_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('answered_by', models.CharField(blank=True, max_length=200)),
                ('answered_by_label', models.CharField(blank=True, max_length=200)),
                ('termination_reason', models.CharField(blank=True, max_length=64)),
                ('started_at', models.DateTimeField()),
                ('redirected_at', models.DateTimeField(blank=True, null=True)),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('notifications', models.JSONField(blank=True, default=list)),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='call_records', to='portal.organization')),
                ('person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='call_records', to='portal.person')),
            ],
            options={
                'ordering': ['-started_at', '-id'],
                'indexes': [models.Index(fields=['person', '-started_at'], name='call_person_recent_idx'), models.Index(fields=['org', '-started_at'], name='call_org_recent_idx')],
                'constraints': [models.UniqueConstraint(fields=('org', 'provider_call_id'), name='one_record_per_provider_call')],
            },
        ),
    ]
