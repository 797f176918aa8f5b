"""What one Graph call costs the web process, counted so that it cannot creep back: SQL
statements per notification and per redirect, and the lean path of the webhook (no
session, CSRF, authentication, messages or CSP middleware). bench/graph_latency.py
measures the time; this pins the work."""

from unittest import mock

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from forwarding.calltime import bot
from forwarding.models import CallRecord
from portal.models import AuditEvent, Membership
from tests.bot_keys import key_server
from tests.calltime.graph_calls import LINE, incoming, ok, post
from tests.calltime.test_webhooks import statements, terminated
from tests.cast import make_org, make_person, make_user, update


@pytest.fixture
def org(db):
    return make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")


@pytest.fixture
def ada(org):
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Ada", number="+12025550101",
                         provider_person_id=LINE)
    # Always to a colleague's number: the redirect asks the directory who that is.
    make_person(org, name="Grace", number="+12025550102", provider_person_id="grace-id")
    update(person, always_enabled=True, always_destination="+12025550102")
    return person


def one_call(client, org, call_id, *, fast_path=True):
    """The statements of each step of one call: its incoming notification, its redirect
    (in a redirect thread, from the record its INSERT loaded, or with `fast_path=False`
    as the calls queue's worker runs it, from the id alone; Graph's answer faked) and its
    terminated notification."""
    steps, dispatched = {}, []
    token = key_server().token_for(org)  # (signing reads the org's connection)
    with mock.patch("forwarding.calltime.bot.dispatch_redirect",
                    side_effect=lambda record_id, loaded=None: dispatched.append(loaded)), \
            TestCase.captureOnCommitCallbacks(execute=True), \
            CaptureQueriesContext(connection) as queries:
        assert post(client, org, incoming(call_id=call_id), token=token).status_code == 202
    steps["incoming"] = [q.split()[0] for q in statements(queries)]
    [loaded] = dispatched
    assert loaded.provider_call_id == call_id and loaded.person.display_name == "Ada"
    with mock.patch("providers.graph.redirect", return_value=ok()), \
            CaptureQueriesContext(connection) as queries:
        bot.handle_incoming(loaded.pk, loaded=loaded if fast_path else None)
    steps["redirect"] = [q.split()[0] for q in statements(queries)]
    token = key_server().token_for(org)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, org, terminated(call_id=call_id), token=token).status_code == 202
    steps["terminated"] = [q.split()[0] for q in statements(queries)]
    return steps


@pytest.mark.django_db
def test_a_call_costs_a_handful_of_statements(client, org, ada):
    first = one_call(client, org, "call-1")
    # The org by its webhook key (then kept a few seconds); one statement that inserts
    # the call's record (finding the called person) and reads, from the row it inserted,
    # the org, the person, their settings and the caller (WITH ... INSERT ... RETURNING).
    assert first["incoming"] == ["SELECT", "WITH"]
    # Who is behind the destination; the claim with the decision; the outcome and its
    # audit row in one statement (WITH ... UPDATE ... RETURNING, INSERT).
    assert first["redirect"] == ["SELECT", "UPDATE", "WITH"]
    assert first["terminated"] == ["UPDATE"]

    # A call in the same seconds: the org and the directory's answer are remembered.
    second = one_call(client, org, "call-2")
    assert second == {"incoming": ["WITH"], "redirect": ["UPDATE", "WITH"],
                      "terminated": ["UPDATE"]}
    redirected = CallRecord.objects.get(provider_call_id="call-2")
    assert redirected.redirect_status == CallRecord.REDIRECTED
    assert redirected.target_labels == ["Grace"]  # rung as the colleague, from memory
    events = AuditEvent.objects.filter(event="call.redirected").order_by("id")
    assert events.count() == 2
    # The audit row written with the outcome is the row audit.record writes.
    assert (events.last().org_id, events.last().person_id, events.last().person_label,
            events.last().actor_label) == (org.pk, ada.pk, "Ada", bot.BOT_LABEL)
    assert events.last().new == {"targets": ["Grace"], "rule": "always"}
    assert events.last().data["call_id"] == "call-2"


@pytest.mark.django_db
def test_caller_rules_come_with_the_call(client, org, ada):
    # The INSERT reads the called person's caller rules too: no query of their own, in
    # the webhook or in the redirect thread, and the rule decides.
    update(ada, rules=[{"callers": ["+13035550110"], "destination": "+442079460000"},
                       {"match_all": True, "destination": "+12025550102"}])
    steps = one_call(client, org, "call-1")
    assert steps == {"incoming": ["SELECT", "WITH"], "redirect": ["SELECT", "UPDATE", "WITH"],
                     "terminated": ["UPDATE"]}
    record = CallRecord.objects.get(provider_call_id="call-1")
    assert (record.rule, record.target_labels) == ("caller_rule:2", ["Grace"])


@pytest.mark.django_db
def test_a_worker_loads_the_call_in_one_statement(client, org, ada):
    # The calls queue's worker (overflow, retries, recovery) has only the record's id.
    steps = one_call(client, org, "call-1", fast_path=False)
    # The call with its org, person, settings and caller; the directory; claim; outcome.
    assert steps["redirect"] == ["SELECT", "SELECT", "UPDATE", "WITH"]


@pytest.mark.django_db
def test_a_late_reply_writes_no_audit_row(client, org, ada):
    # Recovery closed the call while Graph's answer was on its way: the outcome's
    # statement changes nothing and writes no audit row (one statement, so never half).
    dispatched = []
    with mock.patch("forwarding.calltime.bot.dispatch_redirect",
                    side_effect=lambda record_id, loaded=None: dispatched.append(loaded)), \
            TestCase.captureOnCommitCallbacks(execute=True):
        post(client, org, incoming(call_id="call-1"))
    [loaded] = dispatched

    def closed_meanwhile(conn, request):
        CallRecord.objects.filter(pk=loaded.pk).update(redirect_status=CallRecord.FAILED)
        return ok()

    with mock.patch("providers.graph.redirect", side_effect=closed_meanwhile):
        bot.handle_incoming(loaded.pk, loaded=loaded)
    assert CallRecord.objects.get().redirect_status == CallRecord.FAILED
    assert not AuditEvent.objects.filter(event="call.redirected").exists()


@pytest.mark.django_db
def test_a_changed_colleague_is_not_served_from_memory(client, org, ada):
    one_call(client, org, "call-1")
    grace = org.people.get(display_name="Grace")
    grace.phone_number = "+12025550199"
    grace.save()
    one_call(client, org, "call-2")
    record = CallRecord.objects.get(provider_call_id="call-2")
    assert record.target_labels == ["+1 202 555 0102"]  # a number now, nobody's line


@pytest.mark.django_db
def test_the_webhook_skips_the_sites_middleware(client, org, ada):
    # A request that carries a session cookie (a browser, or a proxy that adds one) is
    # still not read as a session: no query for it, no cookie back, no page headers.
    client.force_login(ada.user)
    token = key_server().token_for(org)
    with mock.patch("forwarding.calltime.bot.current_app.send_task"), \
            CaptureQueriesContext(connection) as queries:
        response = post(client, org, incoming(call_id="call-1"), token=token)
    assert response.status_code == 202
    assert not any("django_session" in q for q in statements(queries))
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "Content-Security-Policy" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.django_db
def test_an_unknown_webhook_key_gets_the_sites_404_page(client, org):
    response = client.post("/webhooks/graph/no-such-key/", data="{}",
                           content_type="application/json")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers  # the whole stack answered
