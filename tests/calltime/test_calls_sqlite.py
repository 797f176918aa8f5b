"""The Graph bot on SQLite, the database of the zero-setup demo (`make run` without
DATABASE_URL). Every statement of the call path written by hand
(forwarding.calltime.storage) runs here: the incoming call's INSERT, the follow-up UPDATE
and the redirect's SELECT of call, org, person and settings. The follow-up UPDATE has one
vendor-specific part (the JSON append); it once wrote PostgreSQL's `||` on SQLite too,
which broke every follow-up of the demo with a CHECK constraint error. Run in a
subprocess: the suite's own database is PostgreSQL."""

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
    from datetime import timedelta
    from unittest import mock
    from django.test import Client
    from forwarding.calltime import bot, recovery, storage, webhook_orgs
    from forwarding.models import CallRecord
    from forwarding.rules import services
    from portal.audit import Actor
    from portal.models import AuditEvent, Organization, Person
    from providers import graph

    org = Organization.objects.create(name="Demo Teams", provider_kind="graph",
                                      provider_org_id="demo", default_region="GB")
    Person.objects.create(org=org, display_name="Grace", provider_person_id="grace-id",
                          phone_number="+442079460001")

    def body(state, change, answered=None, call_id="call-1", line="grace-id"):
        data = {"@odata.type": "#microsoft.graph.call", "state": state,
                "direction": "incoming", "id": call_id,
                "source": {"identity": {"phone": {"id": "+14255550100"}}},
                "targets": [{"identity": {"user": {"id": line}}}]}
        if answered:
            data["answeredBy"] = {"identity": answered}
        return json.dumps({"value": [{"changeType": change, "resourceData": data,
                                      "resourceUrl": f"/communications/calls/{call_id}"}]})

    client, path = Client(), webhook_orgs.webhook_path(org)
    statuses = [
        client.post(path, body("incoming", "created"), content_type="application/json"),
        client.post(path, body("terminated", "deleted", {"user": {"id": "grace-id"}}),
                    content_type="application/json"),
        client.post(path, body("terminated", "deleted", {"user": {"id": "grace-id"}}),
                    content_type="application/json"),
    ]
    record = CallRecord.objects.get()
    follow_ups = {
        "statuses": [r.status_code for r in statuses],
        "state": record.state, "notifications": record.notifications,
        "answered_by": record.answered_by, "label": record.answered_by_label,
        "ended": record.ended_at is not None,
    }

    # The redirect's SELECT: Grace has no settings (the LEFT JOINs find nothing); Ada has
    # settings and a caller rule (the second query), and forwards this caller to Grace.
    grace_call = storage.load_for_redirect(record.pk, CallRecord.PENDING)
    ada = Person.objects.create(org=org, display_name="Ada", provider_person_id="ada-id",
                                phone_number="+442079460002")
    services.forwarding_update(
        person=ada, changes={"always_enabled": True, "always_destination": "+442079460009"},
        caller_rules=[{"callers": ["+14255550100"], "destination": "+442079460001"}],
        expected_version=1, actor=Actor.system("demo"))
    client.post(path, body("incoming", "created", call_id="call-2", line="ada-id"),
                content_type="application/json")
    ada_record = CallRecord.objects.get(provider_call_id="call-2")
    ada_call = storage.load_for_redirect(ada_record.pk, CallRecord.PENDING)
    settings = ada_call.person.forwarding
    loaded = {
        "grace": [grace_call.org.name, grace_call.person.display_name,
                  grace_call.started_at == record.started_at,
                  grace_call.notifications == record.notifications,
                  hasattr(grace_call.person, "forwarding")],
        "ada": [ada_call.org.name, ada_call.person.display_name, settings.always_enabled,
                settings.always_destination,
                [(r.callers, r.destination) for r in settings.caller_rules.all()]],
        "not waiting": storage.load_for_redirect(ada_record.pk, CallRecord.RETRYING),
    }
    # The whole redirect on SQLite: the decision, the claim, the outcome and its audit row.
    with mock.patch("providers.graph.redirect",
                    return_value=graph.RedirectResult(status_code=202, request_id="r-1")) as sent:
        bot.handle_incoming(ada_record.pk)
    ada_record.refresh_from_db()
    redirect = {
        "sent": [(t.kind, t.id) for t in sent.call_args.args[1].targets],
        "status": ada_record.redirect_status, "rule": ada_record.rule,
        "targets": ada_record.targets, "labels": ada_record.target_labels,
        "audited": AuditEvent.objects.filter(event="call.redirected").count(),
    }
    # Recovery closes Grace's call, which nobody redirected before the deadline.
    recovered = recovery.recover_calls(now=record.started_at + timedelta(seconds=16))
    record.refresh_from_db()
    print(json.dumps({
        **follow_ups, "loaded": loaded, "redirect": redirect, "recovered": recovered,
        "closed": [record.redirect_status,
                   AuditEvent.objects.filter(event="call.redirect_failed").count()],
    }))
""")


def test_follow_ups_complete_the_record_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
               DJANGO_SETTINGS_MODULE="portal.settings.test", GRAPH_REDIRECT_THREADS="0",
               # The SQL is under test here; tokens are in test_notification_auth.py.
               GRAPH_NOTIFICATION_AUTH="false")
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "statuses": [202, 202, 202],  # the repeated follow-up is acknowledged, not applied
        "state": "terminated",
        "notifications": ["incoming|created|", "terminated|deleted|"],
        "answered_by": "user:grace-id", "label": "Grace", "ended": True,
        "loaded": {
            "grace": ["Demo Teams", "Grace", True, True, False],
            "ada": ["Demo Teams", "Ada", True, "+442079460009",
                    [[["+14255550100"], "+442079460001"]]],
            "not waiting": None,
        },
        "redirect": {
            "sent": [["user", "grace-id"]],  # the rule's number is Grace: her Teams identity
            "status": "redirected", "rule": "caller_rule:1",
            "targets": ["+442079460001"], "labels": ["Grace"], "audited": 1,
        },
        "recovered": {"queued": 0, "expired": 1},
        "closed": ["failed", 1],
    }

