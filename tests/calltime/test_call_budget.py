"""What one Graph call costs the web process, counted so that it cannot creep back: SQL
statements per notification and per redirect, and the lean path of the webhook (no
session, CSRF, authentication, messages or CSP middleware). bench/graph_latency.py
measures the time; this pins the work."""

from unittest import mock

import pytest
from django.db import connection
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


def one_call(client, org, call_id):
    """The statements of each step of one call: its incoming notification, its redirect
    (in a redirect thread; Graph's answer faked) and its terminated notification."""
    steps = {}
    token = key_server().token_for(org)  # (signing reads the org's connection)
    with mock.patch("forwarding.calltime.bot.current_app.send_task"), \
            CaptureQueriesContext(connection) as queries:
        assert post(client, org, incoming(call_id=call_id), token=token).status_code == 202
    steps["incoming"] = [q.split()[0] for q in statements(queries)]
    record_id = CallRecord.objects.get(provider_call_id=call_id).pk
    with mock.patch("providers.graph.redirect", return_value=ok()), \
            CaptureQueriesContext(connection) as queries:
        bot.handle_incoming(record_id)
    steps["redirect"] = [q.split()[0] for q in statements(queries)]
    token = key_server().token_for(org)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, org, terminated(call_id=call_id), token=token).status_code == 202
    steps["terminated"] = [q.split()[0] for q in statements(queries)]
    return steps


@pytest.mark.django_db
def test_a_call_costs_a_handful_of_statements(client, org, ada):
    first = one_call(client, org, "call-1")
    # The org by its webhook key (then kept a few seconds); one INSERT that also finds
    # the called person.
    assert first["incoming"] == ["SELECT", "INSERT"]
    # Call, org, person and settings in one SELECT; the caller (a Teams user: is it a
    # person of the org?); who is behind the destination; the claim with the decision;
    # the outcome and its audit row.
    assert first["redirect"] == ["SELECT", "SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT"]
    assert first["terminated"] == ["UPDATE"]

    # A call in the same seconds: the org and the directory's answer are remembered.
    second = one_call(client, org, "call-2")
    assert second == {"incoming": ["INSERT"],
                      "redirect": ["SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT"],
                      "terminated": ["UPDATE"]}
    redirected = CallRecord.objects.get(provider_call_id="call-2")
    assert redirected.redirect_status == CallRecord.REDIRECTED
    assert redirected.target_labels == ["Grace"]  # rung as the colleague, from memory
    assert AuditEvent.objects.filter(event="call.redirected").count() == 2


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
