"""Pushing a person's whole forwarding to Webex (providers.webex_push) against the
sandbox over real HTTP: one push converges and the sandbox's Webex evaluator then
decides calls as the portal does; a second push writes nothing new; a process killed
(SIGKILL) between two criteria writes leaves no duplicate after the retry; a change to
any resource behind the portal's back shows in the compared normal form; a refused
resource is named in the person's words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from providers.base import (
    CallerRuleState,
    Connection,
    ForwardingState,
    ProviderError,
    ScheduleState,
)
from providers.sandbox.webex_evaluate import evaluate
from providers.webex import WebexProvider
from providers.webex_readback import comparable_resources
from tests.providers.webex_reference import portal_decides

from .helpers import wait_until

BOSS, PARTNER = "+12025550111", "+12025550112"
MOBILE, DESK, VOICEMAIL = "+12025550100", "+12025550101", "+12025550102"
OFFICE = ScheduleState(name="Office hours", kind="business_hours", hours=tuple(
    (d, "09:00", "17:00") for d in ("monday", "tuesday", "wednesday", "thursday", "friday")))
HOLIDAYS = ScheduleState(name="Holidays", kind="holidays",
                         dates=(("Christmas", "2026-12-25", "2026-12-26", True),))
STATE = ForwardingState(
    schedules=(OFFICE, HOLIDAYS),
    caller_rules=(
        CallerRuleState(destination=MOBILE, callers=(BOSS,), schedule="Office hours",
                        schedule_when="outside"),
        CallerRuleState(destination=DESK, callers=(BOSS, PARTNER), match_anonymous=True),
        CallerRuleState(destination=VOICEMAIL, match_all=True),
    ),
    busy_enabled=True, busy_destination=VOICEMAIL,
    simring_enabled=True, simring_targets=(MOBILE, DESK), simring_confirm=(DESK,),
    simring_skip_when_on_call=True, dnd_enabled=True, dnd_ring_splash=True,
    time_zone="America/New_York")


@pytest.fixture
def conn(sb):
    sb.token("tok-a", "org-a")
    sb.person("org-a", "alice")
    return Connection(base_url=sb.url + "/webex/v1", token="tok-a",
                      options={"timeout": 10, "person_settings": True})


def held(sb):
    return sb.control("GET", "webex/people/alice", 200).json()


def test_one_push_converges_and_webex_decides_as_the_portal(sb, conn):
    result = WebexProvider().push(conn, "alice", STATE)
    assert result.status_code == 204 and result.requests > 5
    view = held(sb)
    features = view["features"]
    assert features["selectiveForward"]["enabled"] is True
    assert {s["name"] for s in features["schedules"]} == {
        "Office hours", "Holidays", "Office hours (outside)"}
    assert features["simultaneousRing"]["phoneNumbers"] == [
        {"phoneNumber": MOBILE, "answerConfirmationEnabled": False},
        {"phoneNumber": DESK, "answerConfirmationEnabled": True}]
    assert features["doNotDisturb"]["enabled"] is True
    # Every hour of a week, from each kind of caller: the sandbox (Webex semantics over
    # what it holds) and the portal's rules agree.
    start = datetime(2026, 11, 30, tzinfo=UTC)
    for hour in range(0, 24 * 7, 1):
        at = start + timedelta(hours=hour, minutes=5)
        for caller in (BOSS, PARTNER, None, "+12025550199"):
            webex = evaluate(view, caller=caller, at=at, zone=STATE.time_zone)
            assert webex["targets"] == portal_decides(STATE, caller=caller, at=at), \
                (caller, at)
    # Read back, the normal form is ours: in sync.
    theirs = WebexProvider().fetch(conn, "alice")
    assert comparable_resources(theirs) == comparable_resources(STATE)


def test_a_second_push_creates_nothing(sb, conn):
    WebexProvider().push(conn, "alice", STATE)
    before = held(sb)["features"]
    seen = max(r["seq"] for r in sb.requests_log())
    WebexProvider().push(conn, "alice", STATE)
    after = held(sb)["features"]
    assert [c["id"] for c in after["criteria"]] == [c["id"] for c in before["criteria"]]
    writes = [r for r in sb.requests_log() if r["seq"] > seen
              and r.get("method") in ("POST", "DELETE")]
    assert writes == []


def test_turning_everything_off_removes_criteria_and_schedules(sb, conn):
    WebexProvider().push(conn, "alice", STATE)
    WebexProvider().push(conn, "alice", ForwardingState())
    features = held(sb)["features"]
    assert features["selectiveForward"]["enabled"] is False
    assert features["criteria"] == [] and features["schedules"] == []
    assert features["simultaneousRing"]["enabled"] is False
    assert features["doNotDisturb"]["enabled"] is False


_CRASHING_PUSH = """
import sys
from providers.base import ForwardingState
from providers.base import Connection
from providers.webex import WebexProvider
state = ForwardingState.from_dict(__import__("json").loads(sys.argv[2]))
conn = Connection(base_url=sys.argv[1], token="tok-a",
                  options={"timeout": 30, "person_settings": True})
WebexProvider().push(conn, "alice", state)
"""


def test_a_push_killed_between_criteria_writes_leaves_no_duplicate(sb, conn):
    import json

    # Each criterion write waits 1.5 s in the sandbox; the pushing process is killed
    # while the second one waits: the first criterion exists, the process that made it
    # is gone without recording anything.
    sb.control("POST", "faults", 201, json={"match": {"path": "selectiveForward/criteria"},
                                            "delayMs": 1500, "count": 2})
    proc = subprocess.Popen([sys.executable, "-c", _CRASHING_PUSH, conn.base_url,
                             json.dumps(STATE.to_dict())], cwd=os.getcwd())
    try:
        wait_until(lambda: len((held(sb)["features"] or {}).get("criteria", ())) >= 1, timeout=20,
                   interval=0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    time.sleep(1.6)  # the request in flight may still land: the retry must cope with it
    partial = held(sb)["features"]["criteria"]
    assert 1 <= len(partial) <= 3
    WebexProvider().push(conn, "alice", STATE)
    criteria = held(sb)["features"]["criteria"]
    keys = [json.dumps({k: v for k, v in c.items() if k != "id"}, sort_keys=True)
            for c in criteria]
    # STATE's rules are three criteria (the boss outside and during office hours, the
    # partner and anonymous callers; everyone else is call forwarding "always"), once each.
    assert len(keys) == len(set(keys)) == 3
    theirs = WebexProvider().fetch(conn, "alice")
    assert comparable_resources(theirs) == comparable_resources(STATE)


T = "/webex/v1/telephony/config/people/alice"
F = "/webex/v1/people/alice/features"


def _put(sb, path, body):
    resp = sb.http.put(sb.url + path, json=body, headers={"Authorization": "Bearer tok-a"},
                       timeout=10)
    assert resp.status_code in (200, 204), resp.text


@pytest.mark.parametrize("change", ["criterion", "event", "simring", "dnd", "selective"])
def test_a_change_to_any_resource_is_seen(sb, conn, change):
    WebexProvider().push(conn, "alice", STATE)
    features = held(sb)["features"]
    if change == "criterion":
        first = features["criteria"][0]
        body = {k: v for k, v in first.items() if k != "id"}
        _put(sb, f"{T}/selectiveForward/criteria/{first['id']}",
             {**body, "forwardToPhoneNumber": "+12025550177"})
    elif change == "event":
        office = next(s for s in features["schedules"] if s["name"] == "Office hours")
        event = office["events"][0]
        body = {k: v for k, v in event.items() if k != "id"}
        _put(sb, f"{F}/schedules/businessHours/{office['id']}/events/{event['id']}",
             {**body, "endTime": "18:00"})
    elif change == "simring":
        _put(sb, f"{T}/simultaneousRing", {"doNotRingIfOnCallEnabled": False})
    elif change == "dnd":
        _put(sb, f"{F}/doNotDisturb", {"enabled": False})
    else:
        _put(sb, f"{T}/selectiveForward", {"enabled": False})
    theirs = WebexProvider().fetch(conn, "alice")
    assert comparable_resources(theirs) != comparable_resources(STATE)


def test_a_refused_resource_is_named_in_the_persons_words(sb, conn):
    sb.control("POST", "faults", 201, json={"match": {"path": "simultaneousRing"},
                                            "status": 400})
    with pytest.raises(ProviderError) as caught:
        WebexProvider().push(conn, "alice", STATE)
    error = caught.value
    assert error.message.startswith("Simultaneous ring was not saved: ")
    assert error.permanent
    assert error.failed_resources == ["simring"]
    # The rest went through.
    assert held(sb)["features"]["doNotDisturb"]["enabled"] is True


def test_more_than_ten_numbers_are_refused_by_webex(sb, conn):
    many = ForwardingState(simring_enabled=True,
                           simring_targets=tuple(f"+1202555{n:04d}" for n in range(11)))
    with pytest.raises(ProviderError) as caught:
        WebexProvider().push(conn, "alice", many)
    assert "Simultaneous ring was not saved" in caught.value.message
    assert "at most 10" in caught.value.message


def test_refused_credentials_stop_at_the_first_request(sb, conn):
    from dataclasses import replace

    with pytest.raises(ProviderError) as caught:
        WebexProvider().push(replace(conn, token="wrong"), "alice", STATE)
    assert caught.value.status_code == 401
    assert caught.value.failed_resources == ["schedules"]
    assert caught.value.requests_sent == 1
