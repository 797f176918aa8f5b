"""The Graph webhook on SQLite, the database of the zero-setup demo (`make run` without
DATABASE_URL). The follow-up UPDATE is written as SQL with one vendor-specific part (the
JSON append); it once wrote PostgreSQL's `||` on SQLite too, which broke every follow-up
of the demo with a CHECK constraint error. Run in a subprocess: the suite's own database
is PostgreSQL."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.test import Client
    from forwarding.calltime import webhook_orgs
    from forwarding.models import CallRecord
    from portal.models import Organization, Person

    org = Organization.objects.create(name="Demo Teams", provider_kind="graph",
                                      provider_org_id="demo", default_region="GB")
    Person.objects.create(org=org, display_name="Grace", provider_person_id="grace-id",
                          phone_number="+442079460001")

    def body(state, change, answered=None):
        data = {"@odata.type": "#microsoft.graph.call", "state": state,
                "direction": "incoming", "id": "call-1",
                "source": {"identity": {"phone": {"id": "+14255550100"}}},
                "targets": [{"identity": {"user": {"id": "grace-id"}}}]}
        if answered:
            data["answeredBy"] = {"identity": answered}
        return json.dumps({"value": [{"changeType": change, "resourceData": data,
                                      "resourceUrl": "/communications/calls/call-1"}]})

    client, path = Client(), webhook_orgs.webhook_path(org)
    statuses = [
        client.post(path, body("incoming", "created"), content_type="application/json"),
        client.post(path, body("terminated", "deleted", {"user": {"id": "grace-id"}}),
                    content_type="application/json"),
        client.post(path, body("terminated", "deleted", {"user": {"id": "grace-id"}}),
                    content_type="application/json"),
    ]
    record = CallRecord.objects.get()
    print(json.dumps({
        "statuses": [r.status_code for r in statuses],
        "state": record.state, "notifications": record.notifications,
        "answered_by": record.answered_by, "label": record.answered_by_label,
        "ended": record.ended_at is not None,
    }))
""")


def test_follow_ups_complete_the_record_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
               DJANGO_SETTINGS_MODULE="portal.settings.test", GRAPH_REDIRECT_THREADS="0")
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "statuses": [202, 202, 202],  # the repeated follow-up is acknowledged, not applied
        "state": "terminated",
        "notifications": ["incoming|created|", "terminated|deleted|"],
        "answered_by": "user:grace-id", "label": "Grace", "ended": True,
    }
