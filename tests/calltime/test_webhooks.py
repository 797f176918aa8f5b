"""The Graph bot's webhook and services, the recent calls pages and the Lync manifest
download, without workers or the sandbox (tests/integration/test_graph_calls.py runs the
whole road): status codes, de-duplication, stale notifications, the decision and the
redirect that is sent, retries, audit rows and who may see what."""

import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forwarding.calltime import bot, manifests, storage
from forwarding.models import CallRecord
from portal.models import AuditEvent, Membership
from providers import graph
from providers.base import ProviderError
from tests.bot_keys import key_server
from tests.calltime.graph_calls import (
    BETA_CALL,
    BETA_LINE,
    CALL,
    CALLER,
    LINE,
    incoming,
    ok,
    post,
    receive,
    url,
)
from tests.cast import make_org, make_person, make_user, update
from tests.sandbox.helpers import load_fixture


@pytest.fixture
def v1_org(db):
    return make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")


@pytest.fixture
def beta_org(db):
    return make_org("graph", graph_api_version="beta", base_url="http://127.0.0.1:9/graph")


@pytest.fixture
def ada(v1_org):
    user = make_user(org=v1_org, role=Membership.MEMBER)
    return make_person(v1_org, user=user, name="Ada", number="+12025550101",
                       provider_person_id=LINE)


@pytest.fixture
def grace(v1_org):
    return make_person(v1_org, name="Grace", number="+12025550102",
                       provider_person_id="grace-graph-id", sip_uri="sip:grace@globex.example")


@pytest.fixture
def queued():
    """The redirect tasks put on the broker (nothing is sent)."""
    with mock.patch("forwarding.calltime.bot.current_app.send_task") as apply_async:
        yield apply_async


def terminated(call_id=CALL, answered=None):
    body = load_fixture("graph_v1_ex3_terminated.json")
    item = body["value"][0]
    item["resourceUrl"] = f"/communications/calls/{call_id}"
    if answered is None:
        del item["resourceData"]["answeredBy"]
    else:
        item["resourceData"]["answeredBy"]["identity"] = answered
    return body


def beta(name):
    return load_fixture(f"graph_beta_{name}.json")


# --- the webhook's answers --------------------------------------------------------------------


@pytest.mark.django_db
class TestWebhookAnswers:
    def test_an_unknown_key_is_404(self, client, v1_org):
        response = client.post("/webhooks/graph/not-a-key/", data="{}",
                               content_type="application/json")
        assert response.status_code == 404

    def test_the_key_of_an_org_that_is_not_graph_is_404(self, client):
        webex = make_org("webex")
        assert post(client, webex, incoming()).status_code == 404

    def test_get_on_a_known_key_is_405(self, client, v1_org):
        assert client.get(url(v1_org)).status_code == 405

    @pytest.mark.parametrize("data, words", [
        ("{not json", "not valid JSON"),
        ('{"value": [1, 2]', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"value": []}', "value must be"),
        ('{"value": [{"changeType": "created", "resourceData": {}}]}', "resource"),
    ])
    def test_a_malformed_body_is_400_with_a_short_message(self, client, v1_org, data, words):
        response = post(client, v1_org, data)
        assert response.status_code == 400
        message = response.json()["error"]
        assert words in message and len(message) < 120
        assert "Traceback" not in response.content.decode()
        assert not CallRecord.objects.exists()

    def test_no_csrf_token_or_session_is_needed(self, v1_org, ada, queued,
                                                django_capture_on_commit_callbacks):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, v1_org, incoming())
        assert response.status_code == 202

    def test_incoming_is_recorded_and_queued_on_the_calls_queue(
            self, client, v1_org, ada, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, v1_org, incoming())
        assert response.status_code == 202 and response.content == b""
        record = CallRecord.objects.get()
        assert (record.org, record.provider_call_id, record.api_version, record.line_id) == (
            v1_org, CALL, "v1.0", LINE)
        assert (record.caller_kind, record.caller_id) == ("user", CALLER)
        assert record.redirect_status == CallRecord.PENDING
        queued.assert_called_once_with(
            "forwarding.redirect_call", args=[record.pk], queue="calls", retry=False)

    def test_a_repeated_incoming_is_acknowledged_and_ignored(
            self, client, v1_org, ada, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, v1_org, incoming()).status_code == 202
            assert post(client, v1_org, incoming()).status_code == 202
        assert CallRecord.objects.count() == 1
        assert queued.call_count == 1

    def test_the_same_call_id_in_two_orgs_is_two_calls(
            self, client, v1_org, beta_org, ada, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            post(client, v1_org, incoming())
            post(client, beta_org, incoming())
        assert CallRecord.objects.count() == 2

    def test_beta_notifications_are_accepted(self, client, beta_org, queued,
                                             django_capture_on_commit_callbacks):
        make_person(beta_org, provider_person_id=BETA_LINE)
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, beta_org, beta("incoming")).status_code == 202
        record = CallRecord.objects.get()
        assert (record.provider_call_id, record.api_version) == (BETA_CALL, "beta")
        assert record.caller_label == "Test User"
        for name in ("redirecting", "terminated", "deleted"):
            assert post(client, beta_org, beta(name)).status_code == 202
        record.refresh_from_db()
        assert record.state == "deleted"
        assert record.answered_by == "user:8A34A46B-3D17-4ADC-8DCE-DC4E7D572699"
        assert record.answered_by_label == "Test User 2"
        assert record.termination_reason == "AppRedirected"
        assert record.ended_at is not None
        assert record.notifications == [
            'incoming|created|W/"5445"', 'redirecting|updated|W/"5445"',
            'terminated|updated|W/"5445"', 'deleted|deleted|W/"5445"']


# --- follow-ups ---------------------------------------------------------------------------------


@pytest.mark.django_db
class TestFollowUps:
    @pytest.fixture
    def record(self, client, v1_org, ada, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            post(client, v1_org, incoming())
        return CallRecord.objects.get()

    def test_terminated_completes_the_record_with_who_answered(self, client, v1_org, record,
                                                              grace):
        answered = {"user": {"id": "grace-graph-id"}}
        assert post(client, v1_org, terminated(answered=answered)).status_code == 202
        record.refresh_from_db()
        assert record.state == "terminated" and record.completed
        assert (record.answered_by, record.answered_by_label) == ("user:grace-graph-id",
                                                                  "Grace")
        assert record.ended_at is not None

    def test_a_follow_up_is_one_update(self, client, v1_org, record):
        # The org was looked up for the incoming notification and is kept a few seconds.
        with CaptureQueriesContext(connection) as queries:
            post(client, v1_org, terminated(answered={"phone": {"id": "+12025550199"}}))
        assert [q.split()[0] for q in statements(queries)] == ["UPDATE"]

    def test_a_phone_that_answered_is_shown_as_a_number(self, client, v1_org, record):
        post(client, v1_org, terminated(answered={"phone": {"id": "+442079460000"}}))
        record.refresh_from_db()
        assert record.answered_by_label == "+44 20 7946 0000"

    def test_an_encrypted_answer_is_not_shown_as_gibberish(self, client, v1_org, record):
        # Seed 002's third example, verbatim: the same call id as the recorded call.
        post(client, v1_org, load_fixture("graph_v1_ex3_terminated.json"))
        record.refresh_from_db()
        assert record.answered_by == "encrypted:1xt4uextl99sdzwdxuvdxrvgrv8gehcq7jdgf9yhzeto"
        assert record.answered_by_label == "Someone Teams does not name"

    def test_a_repeated_follow_up_is_ignored(self, client, v1_org, record):
        post(client, v1_org, terminated(answered={"phone": {"id": "+12025550199"}}))
        ended = CallRecord.objects.get().ended_at
        body = terminated(answered={"phone": {"id": "+12025550100"}})
        assert bot.notifications_received(
            org=v1_org, notifications=graph.parse_notifications(body)) == ["duplicate"]
        assert post(client, v1_org, body).status_code == 202
        record.refresh_from_db()
        assert record.answered_by == "phone:+12025550199" and record.ended_at == ended

    def test_a_stale_follow_up_is_ignored(self, client, beta_org, queued,
                                          django_capture_on_commit_callbacks):
        make_person(beta_org, provider_person_id=BETA_LINE)
        with django_capture_on_commit_callbacks(execute=True):
            post(client, beta_org, beta("incoming"))
        post(client, beta_org, beta("terminated"))
        # "redirecting" arrives after "terminated": too late to matter.
        assert bot.notifications_received(
            org=beta_org, notifications=graph.parse_notifications(beta("redirecting"))
        ) == ["stale"]
        assert post(client, beta_org, beta("redirecting")).status_code == 202
        assert CallRecord.objects.get().state == "terminated"

    def test_a_follow_up_for_an_unknown_call_is_acknowledged(self, client, v1_org):
        assert post(client, v1_org, terminated(call_id="nope")).status_code == 202
        assert not CallRecord.objects.exists()

    def test_an_incoming_after_the_end_starts_nothing(self, client, v1_org, record, queued):
        post(client, v1_org, terminated())
        queued.reset_mock()
        assert post(client, v1_org, incoming()).status_code == 202
        assert not queued.called
        assert CallRecord.objects.get().state == "terminated"

    def test_a_person_who_answered_by_phone_is_shown_by_name(self, client, v1_org, record,
                                                            ada):
        # Ada's own number: the UPDATE's sub-select finds her by phone_number.
        post(client, v1_org, terminated(answered={"phone": {"id": "+12025550101"}}))
        record.refresh_from_db()
        assert (record.answered_by, record.answered_by_label) == ("phone:+12025550101", "Ada")

    def test_who_answered_is_matched_by_line_id_or_number_only(self):
        # The matched column's name goes into the SQL; nothing else may be named there.
        with pytest.raises(ValueError, match="display_name"):
            storage.Answer("user:x", "X", "display_name", "x")


# --- the redirect service --------------------------------------------------------------------


def statements(queries):
    """The SQL sent, without the savepoints that the test's own transaction adds (in
    production these blocks run as BEGIN ... COMMIT, or in autocommit)."""
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]




@pytest.mark.django_db
class TestRedirect:
    def test_no_rule_rings_the_person_themself_and_is_audited(self, v1_org, ada):
        record = receive(v1_org, incoming(caller="+14255550100"))
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        conn, sent = redirect.call_args.args
        assert conn.base_url == "http://127.0.0.1:9/graph"
        assert conn.token == v1_org.credentials["token"]
        assert sent.targets == (graph.RedirectTarget("user", LINE, "Ada"),)
        assert sent.api_version == "v1.0" and sent.call_id == CALL
        assert sent.callback_uri == ""  # PUBLIC_URL is http in tests
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.REDIRECTED
        assert (record.rule, record.targets, record.target_labels) == (
            "none", ["+12025550101"], ["Ada"])
        assert record.person == ada and record.redirect_attempts == 1
        assert record.redirect_body == graph.v1_body(sent)
        assert record.latency_ms is not None and record.redirected_at is not None
        event = AuditEvent.objects.get(event="call.redirected")
        assert (event.org, event.person, event.actor, event.actor_label) == (
            v1_org, ada, None, "Teams call bot")
        assert event.new == {"targets": ["Ada"], "rule": "none"}
        assert event.data == {
            "call_id": CALL, "api_version": "v1.0", "caller": "+1 425 555 0100",
            "rule": "none", "targets": ["+12025550101"], "disposition": "ring",
            "timeout": None, "attempts": 1, "status": 202,
            "latency_ms": record.latency_ms, "request_id": "req-1",
        }

    def test_https_public_url_adds_the_callback_uri(self, v1_org, ada, settings):
        settings.PUBLIC_URL = "https://portal.example"
        record = receive(v1_org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        assert redirect.call_args.args[1].callback_uri == (
            f"https://portal.example/webhooks/graph/{v1_org.webhook_key}/")

    def test_always_forward_to_a_colleague_rings_their_teams_identity(self, v1_org, ada,
                                                                      grace):
        update(ada, always_enabled=True, always_destination="sip:Grace@globex.example")
        record = receive(v1_org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        assert redirect.call_args.args[1].targets == (
            graph.RedirectTarget("user", "grace-graph-id", "Grace"),)
        assert CallRecord.objects.get().rule == "always"

    def test_simultaneous_ring_rings_everyone_at_once(self, v1_org, ada, grace):
        update(ada, simring_enabled=True, simring_targets=["+12025550102", "+442079460000"],
               simring_timeout=20)
        record = receive(v1_org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        sent = redirect.call_args.args[1]
        assert [(t.kind, t.id) for t in sent.targets] == [
            ("user", LINE), ("user", "grace-graph-id"), ("phone", "+442079460000")]
        assert sent.timeout == 20
        record.refresh_from_db()
        assert record.target_labels == ["Ada", "Grace", "+44 20 7946 0000"]
        assert record.rule == "simring"

    def test_a_teams_caller_matches_a_rule_by_their_sip_address(self, v1_org, ada, grace):
        update(ada, rules=[{"callers": ["+13035550110"], "destination": "+442079460001"},
                           {"callers": ["sip:grace@globex.example"],
                            "destination": "+442079460000"}])
        record = receive(v1_org, incoming(caller="grace-graph-id"))
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        assert redirect.call_args.args[1].targets == (
            graph.RedirectTarget("phone", "+442079460000"),)
        record.refresh_from_db()
        assert record.rule == "caller_rule:2"
        assert "Caller sip:grace@globex.example matches caller rule 2" in record.explanation

    def test_beta_sends_disposition_and_masks(self, beta_org):
        person = make_person(beta_org, name="Bea", number="+12025550111",
                             provider_person_id=BETA_LINE)
        update(person, rules=[{"callers": ["anonymous"], "destination": "+442079460000",
                               "disposition": "redirect", "mask_caller": True}])
        body = beta("incoming")
        body["value"][0]["resourceData"]["source"]["identity"] = {}
        record = receive(beta_org, body)
        with mock.patch("providers.graph.redirect", return_value=ok(200)) as redirect:
            bot.handle_incoming(record.pk)
        sent = redirect.call_args.args[1]
        assert (sent.disposition, sent.mask_caller, sent.mask_callee) == ("redirect", True,
                                                                          False)
        record.refresh_from_db()
        assert record.redirect_body["targetDisposition"] == "default"
        assert record.redirect_body["maskCaller"] is True
        assert record.caller_label == "Anonymous"

    def test_the_worker_needs_few_round_trips(self, v1_org, ada):
        # Graph's deadline is 15 s, but every query adds to the caller's wait: the call,
        # its org, person, settings, caller rules and caller in one; the claim; outcome
        # and audit in one (WITH ... UPDATE ... RETURNING, INSERT).
        update(ada, rules=[{"callers": ["+13035550110"], "destination": "+442079460000"}])
        record = receive(v1_org, incoming(caller="+14255550100"))
        with mock.patch("providers.graph.redirect", return_value=ok()), \
                CaptureQueriesContext(connection) as queries:
            bot.handle_incoming(record.pk)
        assert [q.split()[0] for q in statements(queries)] == ["SELECT", "UPDATE", "WITH"]
        assert CallRecord.objects.get().redirect_status == CallRecord.REDIRECTED

    def test_the_webhook_needs_two_queries_for_an_incoming_call(self, client, v1_org, ada,
                                                                queued):
        token = key_server().token_for(v1_org)  # (its signing reads the org's connection)
        with CaptureQueriesContext(connection) as queries:
            assert post(client, v1_org, incoming(), token=token).status_code == 202
        # The org (and its connection) by its key; one INSERT that also finds the called
        # person and reads what the redirect needs (WITH ... INSERT ... RETURNING).
        assert [q.split()[0] for q in statements(queries)] == ["SELECT", "WITH"]
        assert CallRecord.objects.get().person == ada

    def test_a_second_delivery_of_the_task_sends_nothing(self, v1_org, ada):
        record = receive(v1_org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
            bot.handle_incoming(record.pk)
        assert redirect.call_count == 1
        assert AuditEvent.objects.filter(event="call.redirected").count() == 1

    def test_one_transient_failure_is_retried_half_a_second_later(
            self, v1_org, ada, django_capture_on_commit_callbacks):
        record = receive(v1_org, incoming())
        failure = ProviderError("Graph had a problem (503).", permanent=False, status_code=503)
        with mock.patch("providers.graph.redirect", side_effect=failure), \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued, \
                django_capture_on_commit_callbacks(execute=True):
            bot.handle_incoming(record.pk)
        queued.assert_called_once_with(
            "forwarding.redirect_call", args=[record.pk], kwargs={"attempt": 2}, queue="calls",
                                       countdown=0.5, retry=False)
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.RETRYING
        assert record.redirect_error == "Graph had a problem (503)."
        assert not AuditEvent.objects.filter(event__startswith="call.").exists()
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk, attempt=2)
        # The retry sends exactly the first attempt's body.
        assert graph.v1_body(redirect.call_args.args[1]) == record.redirect_body
        record.refresh_from_db()
        assert (record.redirect_status, record.redirect_attempts) == (CallRecord.REDIRECTED, 2)
        assert AuditEvent.objects.get(event="call.redirected").data["attempts"] == 2

    def test_a_second_transient_failure_fails_the_call(self, v1_org, ada,
                                                       django_capture_on_commit_callbacks):
        record = receive(v1_org, incoming())
        failure = ProviderError("Graph did not answer in time.", permanent=False)
        with mock.patch("providers.graph.redirect", side_effect=failure), \
                mock.patch("forwarding.calltime.bot.current_app.send_task"), \
                django_capture_on_commit_callbacks(execute=True):
            bot.handle_incoming(record.pk)
            bot.handle_incoming(record.pk, attempt=2)
        record.refresh_from_db()
        assert (record.redirect_status, record.redirect_attempts) == (CallRecord.FAILED, 2)
        event = AuditEvent.objects.get(event="call.redirect_failed")
        assert event.person == ada and event.data["error"] == "Graph did not answer in time."

    def test_no_retry_when_the_deadline_leaves_no_room(self, v1_org, ada):
        record = receive(v1_org, incoming(), now=timezone.now() - timedelta(seconds=10))
        failure = ProviderError("Graph had a problem (503).", permanent=False, status_code=503)
        with mock.patch("providers.graph.redirect", side_effect=failure), \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            bot.handle_incoming(record.pk)
        assert not queued.called
        assert CallRecord.objects.get().redirect_status == CallRecord.FAILED

    def test_a_permanent_failure_is_not_retried(self, v1_org, ada):
        record = receive(v1_org, incoming())
        failure = ProviderError("Graph refused the redirect: no.", permanent=True,
                                status_code=400)
        with mock.patch("providers.graph.redirect", side_effect=failure), \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            bot.handle_incoming(record.pk)
        assert not queued.called
        record.refresh_from_db()
        assert (record.redirect_status, record.redirect_status_code) == (CallRecord.FAILED, 400)
        event = AuditEvent.objects.get(event="call.redirect_failed")
        assert event.data["status"] == 400 and event.data["rule"] == "none"

    def test_an_unmapped_line_fails_with_a_reason(self, v1_org):
        record = receive(v1_org, incoming(line="nobody"))
        with mock.patch("providers.graph.redirect") as redirect:
            bot.handle_incoming(record.pk)
        assert not redirect.called
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.FAILED
        assert "Teams line id nobody" in record.redirect_error
        event = AuditEvent.objects.get(event="call.redirect_failed")
        assert event.org == v1_org and event.person is None

    def test_a_call_picked_up_after_the_deadline_is_not_sent(self, v1_org, ada):
        record = receive(v1_org, incoming(), now=timezone.now() - timedelta(seconds=16))
        with mock.patch("providers.graph.redirect") as redirect:
            bot.handle_incoming(record.pk)
        assert not redirect.called
        assert "deadline" in CallRecord.objects.get().redirect_error

    def test_at_most_25_targets(self, v1_org, ada):
        targets = [f"+4420794600{n:02d}" for n in range(25)]
        update(ada, simring_enabled=True, simring_targets=targets)
        record = receive(v1_org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()) as redirect:
            bot.handle_incoming(record.pk)
        sent = redirect.call_args.args[1]
        assert len(sent.targets) == 25 and sent.targets[0].id == LINE

    def test_the_broker_down_redirects_from_the_web_process(
            self, client, v1_org, ada, django_capture_on_commit_callbacks):
        with mock.patch("forwarding.calltime.bot.current_app.send_task",
                        side_effect=ConnectionError("redis down")), \
                mock.patch("forwarding.calltime.bot._spawn", side_effect=lambda run: run()), \
                mock.patch("forwarding.calltime.bot.connections.close_all"), \
                mock.patch("providers.graph.redirect", return_value=ok()) as redirect, \
                django_capture_on_commit_callbacks(execute=True):
            assert post(client, v1_org, incoming()).status_code == 202
        assert redirect.called
        assert CallRecord.objects.get().redirect_status == CallRecord.REDIRECTED


# --- pages ----------------------------------------------------------------------------------------


def a_call(person, n=1, **kwargs):
    values = {
        "org": person.org, "person": person, "provider_call_id": f"call-{person.pk}-{n}",
        "api_version": "v1.0", "caller_label": "+1 425 555 0100", "rule": "caller_rule:1",
        "targets": ["+442079460000"], "target_labels": ["+44 20 7946 0000"],
        "redirect_status": CallRecord.REDIRECTED, "state": "terminated",
        "answered_by_label": "+44 20 7946 0000", "latency_ms": 42,
        "started_at": timezone.now() - timedelta(minutes=n),
        "explanation": "Caller +1 425 555 0100 matches caller rule 1.",
    }
    values.update(kwargs)
    return CallRecord.objects.create(**values)


@pytest.mark.django_db
class TestCallPages:
    def test_the_person_sees_their_calls_newest_first(self, client, ada):
        a_call(ada, 2, caller_label="Older caller")
        a_call(ada, 1, caller_label="Newer caller")
        client.force_login(ada.user)
        response = client.get(reverse("person_calls", args=[ada.id]))
        assert response.status_code == 200
        html = response.content.decode()
        assert html.index("Newer caller") < html.index("Older caller")
        assert "Caller rule 1" in html and "+44 20 7946 0000" in html and "42 ms" in html
        # No inline script or style (the CSP refuses them); script files (src=) are ours.
        assert not re.search(r"<script(?![^>]*\ssrc=)", html) and 'style="' not in html

    def test_the_forwarding_page_lists_the_last_five(self, client, ada):
        for n in range(1, 8):
            a_call(ada, n, caller_label=f"Caller number {n}")
        client.force_login(ada.user)
        html = client.get(reverse("my_forwarding")).content.decode()
        assert "Recent calls" in html
        assert "Caller number 1" in html and "Caller number 5" in html
        assert "Caller number 6" not in html
        assert reverse("person_calls", args=[ada.id]) in html

    def test_push_providers_do_not_show_calls(self, client, member, mia):
        client.force_login(member)
        assert "Recent calls" not in client.get(reverse("my_forwarding")).content.decode()

    def test_admins_and_delegated_partners_see_them_strangers_get_404(self, client, v1_org,
                                                                      ada):
        from portal.models import Delegation

        a_call(ada)
        admin = make_user(org=v1_org, role=Membership.ADMIN)
        partner = make_org("webex")
        partner_admin = make_user(org=partner, role=Membership.ADMIN)
        stranger = make_user(org=make_org("graph"), role=Membership.ADMIN)
        colleague = make_user(org=v1_org, role=Membership.MEMBER)
        page = reverse("person_calls", args=[ada.id])
        client.force_login(admin)
        assert client.get(page).status_code == 200
        for user in (stranger, colleague, partner_admin):
            client.force_login(user)
            assert client.get(page).status_code == 404
        Delegation.objects.create(customer=v1_org, partner=partner)
        client.force_login(partner_admin)
        response = client.get(page)
        assert response.status_code == 200 and "on behalf of partner" in response.content.decode()

    def test_the_calls_page_costs_a_constant_number_of_queries(self, client, ada,
                                                             django_assert_max_num_queries):
        for n in range(30):
            a_call(ada, n)
        client.force_login(ada.user)
        with django_assert_max_num_queries(12):
            assert client.get(reverse("person_calls", args=[ada.id])).status_code == 200

    def test_the_org_page_shows_the_callback_url(self, client, v1_org, settings):
        settings.PUBLIC_URL = "https://portal.example"
        admin = make_user(org=v1_org, role=Membership.ADMIN)
        client.force_login(admin)
        html = client.get(reverse("org_settings", args=[v1_org.id])).content.decode()
        assert f"https://portal.example/webhooks/graph/{v1_org.webhook_key}/" in html
        assert "Lync Server manifest" not in html
        assert "Pushes per second" not in html  # Graph decides at call time: no pushes

    def test_a_refused_invitation_keeps_the_whole_page(self, client, v1_org, settings):
        # The page shown again with the form's error is the same page, callback URL and all.
        settings.PUBLIC_URL = "https://portal.example"
        admin = make_user(org=v1_org, role=Membership.ADMIN, mfa=True)
        client.force_login(admin)
        response = client.post(reverse("org_invite", args=[v1_org.id]),
                               {"email": "not-an-email", "role": Membership.MEMBER})
        html = response.content.decode()
        assert response.status_code == 400 and "Enter a valid email address." in html
        assert f"https://portal.example/webhooks/graph/{v1_org.webhook_key}/" in html
        assert "Pushes per second" not in html

    @pytest.mark.parametrize(("kind", "shown"), [("webex", True), ("ucwa", True),
                                                 ("lync", False)])
    def test_the_push_rate_is_shown_only_where_settings_are_pushed(self, client, kind,
                                                                   shown):
        org = make_org(kind)
        client.force_login(make_user(org=org, role=Membership.ADMIN))
        html = client.get(reverse("org_settings", args=[org.id])).content.decode()
        assert ("Pushes per second" in html) is shown


# --- the Lync manifest ---------------------------------------------------------------------------


@pytest.fixture
def lync_org(db):
    return make_org("lync", base_url="")


@pytest.fixture
def lync_admin(lync_org):
    return make_user(org=lync_org, role=Membership.ADMIN)


@pytest.fixture
def nuria(lync_org):
    return make_person(lync_org, name="Nuria", number="+493012340001",
                       sip_uri="sip:nuriag@contoso.com")


@pytest.fixture
def jenny(lync_org):
    return make_person(lync_org, name="Jenny", number="+493012340002",
                       sip_uri="sip:jennyl@contoso.com")


@pytest.fixture
def terry(lync_org):
    return make_person(lync_org, name="Terry", number="+493012340003",
                       sip_uri="sip:terrya@contoso.com")


def script_of(manifest):
    root = ET.fromstring(manifest)  # noqa: S314 (our own output, parsed to check it)
    return root.find("{http://schemas.microsoft.com/lcs/2006/05}splScript").text


@pytest.mark.django_db
class TestManifest:
    def test_the_seeds_scenario(self, client, lync_org, lync_admin, nuria, jenny, terry):
        # Seed 004: calls from Nuria to Jenny go to Terry. Terry's number resolves to his
        # SIP address.
        update(jenny, rules=[{"callers": ["sip:nuriag@contoso.com"],
                              "destination": "+493012340003"}])
        update(nuria, always_enabled=True, always_destination="+442079460000")
        client.force_login(lync_admin)
        response = client.post(reverse("lync_manifest", args=[lync_org.id]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/xml; charset=utf-8"
        filename = manifests.manifest_filename(lync_org)
        assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
        script = script_of(response.content)
        jenny_block = script[script.index('"jennyl@contoso.com"'):]
        assert jenny_block.index('EqualString(fromAddress, "nuriag@contoso.com", true)') < \
            jenny_block.index('RetargetRequest("sip:terrya@contoso.com");')
        assert ('RetargetRequest("sip:+442079460000@contoso.com;user=phone");'
                in script)
        event = AuditEvent.objects.get(event="manifest.downloaded")
        assert (event.org, event.actor, event.person) == (lync_org, lync_admin, None)
        assert event.data == {
            "sha256": hashlib.sha256(response.content).hexdigest(),
            "bytes": len(response.content), "people_with_rules": 2, "filename": filename,
        }

    def test_redirect_rules_answer_302(self, client, lync_org, lync_admin, jenny, terry):
        update(jenny, rules=[{"callers": ["+12025550100"], "destination": "2999",
                              "disposition": "redirect"}])
        client.force_login(lync_admin)
        script = script_of(client.post(reverse("lync_manifest", args=[lync_org.id])).content)
        assert ('Respond("302", "Moved Temporarily", '
                '"Contact=<sip:2999@contoso.com;user=phone>");') in script

    def test_same_rules_same_bytes(self, client, lync_org, lync_admin, jenny, terry):
        update(jenny, always_enabled=True, always_destination="sip:terrya@contoso.com")
        client.force_login(lync_admin)
        one = client.post(reverse("lync_manifest", args=[lync_org.id])).content
        two = client.post(reverse("lync_manifest", args=[lync_org.id])).content
        assert one == two
        assert AuditEvent.objects.filter(event="manifest.downloaded").count() == 2

    def test_only_admins_download_without_mfa_and_by_post(self, client, lync_org, lync_admin,
                                                         jenny):
        page = reverse("lync_manifest", args=[lync_org.id])
        member = make_user(org=lync_org, role=Membership.MEMBER)
        stranger = make_user(org=make_org("lync"), role=Membership.ADMIN)
        for user in (member, stranger):
            client.force_login(user)
            assert client.post(page).status_code == 404
        client.force_login(lync_admin)  # no MFA: a download changes nothing
        assert client.get(page).status_code == 405
        assert client.post(page).status_code == 200
        assert AuditEvent.objects.filter(event="manifest.downloaded").count() == 1

    def test_other_kinds_have_no_manifest(self, client, v1_org):
        admin = make_user(org=v1_org, role=Membership.ADMIN)
        client.force_login(admin)
        assert client.post(reverse("lync_manifest", args=[v1_org.id])).status_code == 404

    def test_the_org_page_says_when_rules_changed_since_the_download(
            self, client, lync_org, lync_admin, jenny):
        client.force_login(lync_admin)
        page = reverse("org_settings", args=[lync_org.id])
        html = client.get(page).content.decode()
        assert "Download the manifest" in html and "Not downloaded yet" in html
        update(jenny, always_enabled=True, always_destination="sip:terrya@contoso.com")
        assert "has never been downloaded" in client.get(page).content.decode()
        client.post(reverse("lync_manifest", args=[lync_org.id]))
        assert "Up to date" in client.get(page).content.decode()
        update(jenny, always_enabled=False)
        html = client.get(page).content.decode()
        assert "The rules changed on" in html and "after the last download at" in html
        assert manifests.manifest_status(lync_org)["changed"] is True

    def test_hostile_values_cannot_break_the_manifest(self, lync_org, jenny):
        # Stored behind validation's back (an import, an old row): still safe.
        jenny.sip_uri = 'sip:jen"ny]]>\\ü@contoso.com'
        jenny.save()
        update(jenny, always_enabled=True, always_destination="+442079460000")
        manifest = manifests.manifest_for(lync_org)
        script = script_of(manifest)
        assert manifest.isascii() and "]]>" not in script
        assert "jen%22ny%5D%5D%3E%5C%C3%BC@contoso.com" in script


def test_the_webhook_view_writes_nothing_itself():
    import inspect

    from forwarding.pages import calls as calls_views

    source = inspect.getsource(calls_views)
    assert ".save(" not in source and ".objects.create(" not in source

