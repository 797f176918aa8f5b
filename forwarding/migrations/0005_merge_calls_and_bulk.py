# Call records (issue 6) and bulk jobs (issue 7) were built side by side.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("forwarding", "0004_bulk_jobs"),
        ("forwarding", "0004_call_records"),
    ]
    operations = []
