# Each organization gets a partner code, the identifier its customers type to delegate
# to it. Added in three steps because a callable default is evaluated once for all
# existing rows: add the column without the unique constraint, give every existing row
# its own code, then make it unique and required.

from django.db import migrations, models

import portal.models.tenancy


def fill_codes(apps, schema_editor):
    Organization = apps.get_model("portal", "Organization")
    taken = set()
    for org in Organization.objects.filter(partner_code__isnull=True).only("pk"):
        code = portal.models.tenancy.new_partner_code()
        while code in taken:  # 80 random bits: never in practice, but cheap to rule out
            code = portal.models.tenancy.new_partner_code()
        taken.add(code)
        Organization.objects.filter(pk=org.pk).update(partner_code=code)


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0005_audit_no_truncate'),
    ]

    operations = [
        migrations.AddField(
            model_name='organization',
            name='partner_code',
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='organization',
            name='partner_code',
            field=models.CharField(default=portal.models.tenancy.new_partner_code,
                                   editable=False, max_length=32, unique=True),
        ),
    ]
