"""The Graph bot end to end: the sandbox simulates incoming calls and posts Graph's
notifications to the portal's webhook over real HTTP (pytest-django's live server); the
web process's redirect threads (the default) or a real Celery worker on the `calls`
queue decide with forwarding.rules.routing and post the redirect to the sandbox, and the
follow-up notifications complete the call record. Each call must end answered by the
right target, with its audit row written."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from forwarding.calltime import recovery, webhook_orgs
from forwarding.models import CallRecord
from portal.connections.selectors import bot_app_id
from portal.models import AuditEvent
from providers import bot_tokens
from tests.cast import make_org, make_person, update

from .harness import wait_until

pytestmark = pytest.mark.integration

TOKEN = "it-graph-token"
DEADLINE_MS = 6000  # shorter than Graph's 15 s so that a lost call fails fast


@pytest.fixture(autouse=True)
def _trust_the_sandboxs_keys(sandbox, settings):
    """The sandbox signs every notification (aud: the line's appId, tid: its org); the
    portal checks them against the sandbox's OpenID document."""
    settings.GRAPH_NOTIFICATION_OPENID_CONFIG = sandbox.notification_openid_config
    bot_tokens.forget_keys()
    yield
    bot_tokens.forget_keys()


def graph_org(sandbox, version, org_id):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": TOKEN + org_id, "orgId": org_id, "partnerFor": []})
    return make_org("graph", provider_org_id=org_id, graph_api_version=version,
                    base_url=f"{sandbox.url}/graph", credentials={"token": TOKEN + org_id},
                    default_region="GB")


def line(sandbox, live_server, person, identity_type="user"):
    """Register the person's Teams line; its notifications go to the org's webhook."""
    org = person.org
    sandbox.control("POST", "graph/lines", expect=201, json={
        "lineId": person.provider_person_id, "orgId": org.provider_org_id,
        "callbackUrl": live_server.url + webhook_orgs.webhook_path(org),
        "apiVersion": org.graph_api_version, "identityType": identity_type,
        "displayName": person.display_name, "appId": bot_app_id(org),
    })
    return person


def call(sandbox, person, caller):
    response = sandbox.control("POST", "graph/calls", expect=201, json={
        "lineId": person.provider_person_id, "caller": caller, "deadlineMs": DEADLINE_MS})
    return response.json()["id"]


def ended(sandbox, call_id):
    body = sandbox.control("GET", f"graph/calls/{call_id}", expect=200).json()
    return body if body["state"] == "terminated" and len(body["notifications"]) >= (
        4 if body["apiVersion"] == "beta" and body["outcome"] == "answered" else 2) else None


def completed(call_id):
    record = CallRecord.objects.filter(provider_call_id=call_id).first()
    final = "deleted" if record and record.api_version == "beta" else "terminated"
    return record if record and record.state == final and record.answered_by else None


def finish(sandbox, call_id):
    """The sandbox's view of the ended call and the portal's completed record."""
    sandboxed = wait_until(lambda: ended(sandbox, call_id), 20, message=f"call {call_id} ended")
    assert sandboxed["outcome"] == "answered", sandboxed
    assert all(n["status"] == 202 for n in sandboxed["notifications"]), sandboxed
    record = wait_until(lambda: completed(call_id), 10, message=f"record of {call_id}")
    return sandboxed, record


def identity(kind, ident, name=""):
    entry = {"@odata.type": "#microsoft.graph.identity", "id": ident}
    if name:
        entry["displayName"] = name
    return {"@odata.type": "#microsoft.graph.identitySet", kind: entry}


def answered(sandboxed):
    """(kind, id) of who answered, in the sandbox."""
    who = sandboxed["answeredBy"]
    kind = next(k for k in ("user", "phone") if k in who)
    return kind, who[kind]["id"]


def audited(record):
    # The call's last notification can be handled (another request) before the redirect
    # thread commits its outcome and audit row: wait for the row, as for the record.
    event = wait_until(lambda: AuditEvent.objects.filter(
        event="call.redirected", data__call_id=record.provider_call_id).first(), 10,
        message=f"audit row of {record.provider_call_id}")
    assert event.person_id == record.person_id and event.org_id == record.org_id
    assert event.actor_label == "Teams call bot"
    assert event.data["targets"] == record.targets and event.data["rule"] == record.rule
    return event


def worker_redirects(worker):
    """How many redirect tasks the worker ran (its log has a line for each)."""
    return len(re.findall(r"Task forwarding\.redirect_call\[[^]]+\] succeeded", worker.output()))


@pytest.fixture
def calls_worker(make_worker):
    # The queues of the Procfile's fast worker: calls never wait behind bulk pushes.
    return make_worker("calls", queues="calls,interactive")


@pytest.fixture
def redirect_threads(settings):
    """The production default: the live server's process redirects in its own threads."""
    settings.GRAPH_REDIRECT_THREADS = 4
    return 4


@pytest.mark.parametrize("path", ["threads", "queue"])
@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_calls_are_redirected_by_the_rules(sandbox, live_server, calls_worker, settings,
                                           version, path):
    settings.GRAPH_REDIRECT_THREADS = 4 if path == "threads" else 0
    org = graph_org(sandbox, version, f"it-{version}")
    now = timezone.now()
    # Nobody has a rule: the call rings the person themself (their Teams identity).
    nora = line(sandbox, live_server, make_person(
        org, name="Nora None", number="+442079460101", provider_person_id=f"nora-{version}"))
    # One target: always-forward to an outside number.
    alf = line(sandbox, live_server, make_person(
        org, name="Alf Always", number="+442079460102", provider_person_id=f"alf-{version}"))
    update(alf, always_enabled=True, always_destination="+44 20 7946 0999")
    # Simultaneous ring: the own line, a colleague (by their number) and an outside phone.
    sim = line(sandbox, live_server, make_person(
        org, name="Sim Ring", number="+442079460103", provider_person_id=f"sim-{version}"))
    update(sim, simring_enabled=True, simring_targets=["+442079460101", "+442079460998"],
           simring_timeout=25)
    # A caller rule (beta: redirect disposition, caller's number hidden) before always.
    cara = line(sandbox, live_server, make_person(
        org, name="Cara Caller", number="+442079460104", provider_person_id=f"cara-{version}"))
    rule = {"callers": ["+1 425 555 0100"], "destination": "+442079460996"}
    if version == "beta":  # v1.0 has neither targetDisposition nor maskCaller
        rule.update(disposition="redirect", mask_caller=True)
    update(cara, always_enabled=True, always_destination="+442079460997", rules=[rule])
    # A time window that is running now.
    win = line(sandbox, live_server, make_person(
        org, name="Wyn Window", number="+442079460105", provider_person_id=f"win-{version}"))
    update(win, window_enabled=True, window_start=now - timedelta(hours=1),
           window_end=now + timedelta(hours=1), window_destination="+442079460995")

    # Twenty-odd ms apart in real life; here all at once.
    ids = {
        "none": call(sandbox, nora, "+14255550100"),
        "always": call(sandbox, alf, "+14255550100"),
        "simring": call(sandbox, sim, "user:somebody-else"),
        "rule": call(sandbox, cara, "+14255550100"),
        "rule-miss": call(sandbox, cara, "+14255550199"),
        "window": call(sandbox, win, "anonymous"),
    }
    results = {name: finish(sandbox, call_id) for name, call_id in ids.items()}

    sandboxed, record = results["none"]
    assert answered(sandboxed) == ("user", nora.provider_person_id)
    assert (record.person, record.rule, record.target_labels) == (nora, "none", ["Nora None"])
    assert record.answered_by_label == "Nora None"

    sandboxed, record = results["always"]
    assert answered(sandboxed) == ("phone", "+442079460999")
    assert (record.rule, record.targets) == ("always", ["+442079460999"])
    assert record.answered_by == "phone:+442079460999"

    sandboxed, record = results["simring"]
    targets = sandboxed["redirect"]["targets"]
    if version == "v1.0":
        targets = [t["identity"] for t in targets]
    assert targets == [
        identity("user", sim.provider_person_id, "Sim Ring"),
        identity("user", nora.provider_person_id, "Nora None"),
        identity("phone", "+442079460998"),
    ]
    assert sandboxed["redirect"]["timeout"] == 25
    # The sandbox's first target answers a simultaneous ring.
    assert answered(sandboxed) == ("user", sim.provider_person_id)
    assert record.rule == "simring"
    assert record.target_labels == ["Sim Ring", "Nora None", "+44 20 7946 0998"]

    sandboxed, record = results["rule"]
    assert answered(sandboxed) == ("phone", "+442079460996")
    assert record.rule == "caller_rule:1"
    if version == "beta":
        assert sandboxed["redirect"]["targetDisposition"] == "default"  # redirect
        assert sandboxed["redirect"]["maskCaller"] is True
    else:
        assert "targetDisposition" not in sandboxed["redirect"]  # v1.0 has neither
        assert "maskCaller" not in sandboxed["redirect"]

    sandboxed, record = results["rule-miss"]
    assert answered(sandboxed) == ("phone", "+442079460997")
    assert record.rule == "always"
    if version == "beta":
        assert sandboxed["redirect"]["targetDisposition"] == "forward"

    sandboxed, record = results["window"]
    assert answered(sandboxed) == ("phone", "+442079460995")
    assert (record.rule, record.caller_kind) == ("time_window", "anonymous")

    for sandboxed, record in results.values():
        assert record.redirect_status == CallRecord.REDIRECTED
        assert record.api_version == version and record.ended_at is not None
        assert record.latency_ms is not None and record.latency_ms < DEADLINE_MS
        assert sandboxed["notificationToRedirectMs"] < DEADLINE_MS
        audited(record)
    assert AuditEvent.objects.filter(event="call.redirected").count() == len(ids)
    assert not AuditEvent.objects.filter(event="call.redirect_failed").exists()
    redirected_by_worker = worker_redirects(calls_worker)
    if path == "queue":
        # The worker redirected them (not the web process's fallback for a broker outage).
        assert redirected_by_worker >= len(ids)
    else:
        assert redirected_by_worker == 0  # the live server's own threads did


def test_one_transient_failure_is_retried_within_the_deadline(sandbox, live_server,
                                                               calls_worker,
                                                               redirect_threads):
    # The first attempt runs in the web process; its retry goes through the calls queue.
    org = graph_org(sandbox, "v1.0", "it-retry")
    ada = line(sandbox, live_server, make_person(
        org, name="Ada", number="+442079460201", provider_person_id="ada-retry"))
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"orgId": "it-retry", "path": "/redirect"}, "status": 503, "count": 1})
    call_id = call(sandbox, ada, "+14255550100")
    sandboxed, record = finish(sandbox, call_id)
    assert answered(sandboxed) == ("user", "ada-retry")
    assert (record.redirect_status, record.redirect_attempts) == (CallRecord.REDIRECTED, 2)
    redirects = sandbox.requests(path=f"/calls/{call_id}/redirect")
    assert [r["status"] for r in redirects] == [503, 202]
    assert audited(record).data["attempts"] == 2
    assert worker_redirects(calls_worker) == 1


def test_a_call_whose_redirect_thread_died_is_recovered(sandbox, live_server, calls_worker,
                                                        redirect_threads):
    # The web process takes the call into its redirect threads and dies before running
    # it (here: the job is accepted and dropped). The record still says it waits, and
    # the recovery beat task queues it while Graph's deadline leaves time.
    org = graph_org(sandbox, "v1.0", "it-recover")
    rex = line(sandbox, live_server, make_person(
        org, name="Rex", number="+442079460401", provider_person_id="rex-recover"))
    update(rex, always_enabled=True, always_destination="+442079460499")
    with mock.patch("forwarding.calltime.threads.ThreadPool.submit", return_value=True) as submit:
        call_id = call(sandbox, rex, "+14255550100")
        record = wait_until(lambda: CallRecord.objects.filter(provider_call_id=call_id).first(),
                            10, message="the call's record")
    assert submit.called and record.redirect_status == CallRecord.PENDING
    # Not yet: a redirect thread normally claims the call within milliseconds.
    assert recovery.recover_calls() == {"queued": 0, "expired": 0}
    wait_until(lambda: timezone.now() - record.started_at > recovery.RECOVER_AFTER, 5)
    assert recovery.recover_calls() == {"queued": 1, "expired": 0}
    sandboxed, record = finish(sandbox, call_id)
    assert answered(sandboxed) == ("phone", "+442079460499")
    assert record.redirect_attempts == 1 and record.rule == "always"
    assert sandboxed["notificationToRedirectMs"] >= 2000  # late, but well within 15 s
    audited(record)
    assert worker_redirects(calls_worker) == 1


def test_a_pstn_line_and_a_teams_caller_of_the_org(sandbox, live_server, calls_worker,
                                                    redirect_threads):
    # Seed 002's third example: the line is an application instance with a phone number.
    org = graph_org(sandbox, "v1.0", "it-pstn")
    boss = make_person(org, name="Boss", number="+442079460301", provider_person_id="boss-id",
                       sip_uri="sip:boss@globex.example")
    desk = line(sandbox, live_server, make_person(
        org, name="Desk", number="+442079460302", provider_person_id="desk-instance"),
        identity_type="applicationInstance")
    # The rule lists the boss by SIP address; Teams identifies them by their user id.
    update(desk, rules=[{"callers": ["sip:boss@globex.example"],
                         "destination": "+442079460399"}])
    sandboxed, record = finish(sandbox, call(sandbox, desk, "user:boss-id"))
    assert answered(sandboxed) == ("phone", "+442079460399")
    # The caller was matched through the org's people, and is shown by name.
    assert (record.rule, record.caller_label) == ("caller_rule:1", boss.display_name)
    audited(record)


def test_signed_notifications_survive_a_key_rotation(sandbox, live_server, redirect_threads):
    """The sandbox signs with a new key and drops the old one: the next call's kid is
    unknown, the portal fetches the sandbox's JWKS again and redirects it, no restart.
    (Re-fetches are spaced a minute apart; that limit is tested in
    tests/calltime/test_notification_auth.py and lifted here.)"""
    org = graph_org(sandbox, "v1.0", "it-keys")
    ada = line(sandbox, live_server, make_person(
        org, name="Ada", number="+442079460601", provider_person_id="ada-keys"))
    _sandboxed, record = finish(sandbox, call(sandbox, ada, "+14255550100"))
    assert record.redirect_status == CallRecord.REDIRECTED
    bot_tokens.key_source(sandbox.notification_openid_config).refetch_seconds = 0
    sandbox.control("POST", "keys/rotate", expect=200, json={"keepPrevious": False})
    _sandboxed, record = finish(sandbox, call(sandbox, ada, "+14255550100"))
    assert record.redirect_status == CallRecord.REDIRECTED
    assert bot_tokens.key_source(sandbox.notification_openid_config).fetches == 2


def test_a_notification_for_another_bot_is_refused(sandbox, live_server, redirect_threads):
    """The sandbox's line belongs to another bot application: every notification is
    signed for it, the portal answers 401 and records no call."""
    org = graph_org(sandbox, "v1.0", "it-other-bot")
    ada = make_person(org, name="Ada", number="+442079460602", provider_person_id="ada-other")
    sandbox.control("POST", "graph/lines", expect=201, json={
        "lineId": ada.provider_person_id, "orgId": org.provider_org_id,
        "callbackUrl": live_server.url + webhook_orgs.webhook_path(org),
        "apiVersion": "v1.0", "appId": "someone-elses-bot"})
    call_id = call(sandbox, ada, "+14255550100")
    notified = wait_until(lambda: sandbox.control(
        "GET", f"graph/calls/{call_id}", expect=200).json()["notifications"], 10,
        message="the incoming notification sent")
    assert notified[0]["status"] == 401
    assert not CallRecord.objects.filter(provider_call_id=call_id).exists()
