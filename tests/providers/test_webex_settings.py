"""providers.webex_settings and webex_settings_api with the HTTP session faked: exact
URLs (ids quoted, orgId only for a partner), exact wire bodies, parsing of Webex's
answers (unknown or wrong-typed fields tolerated), criteria reconciliation, and error
translation (a person's sentence; non-string details never leak)."""

from __future__ import annotations

import pytest

from providers import webex_settings_api as api
from providers.base import Connection, ProviderError
from providers.webex_settings import (
    BUSINESS_HOURS,
    SELECT_PHONE_NUMBERS,
    Criterion,
    DoNotDisturb,
    Recurrence,
    Schedule,
    ScheduleEvent,
    SimRingNumber,
    SimultaneousRing,
)
from tests.providers import fake_http

BASE = "https://webexapis.com/v1"
PERSON = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM="
Q = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hYmM%3D"
CONN = Connection(base_url=BASE + "/", token="tok", org_id="own")
PARTNER = Connection(base_url=BASE, token="tok", org_id="partner", acting_org_id="cust")
RULE = Criterion(forward_to_phone_number="+15555550199", calls_from=SELECT_PHONE_NUMBERS,
                 phone_numbers=("+15555550111",), schedule_name="Office",
                 schedule_type=BUSINESS_HOURS)


@pytest.fixture
def fake(monkeypatch):
    return fake_http.install(monkeypatch)


def ok(fake, status=200, body=None):
    fake.answer(fake_http.response(status, body))


def test_urls_and_org_id(fake):
    ok(fake, 204)
    api.put_do_not_disturb(CONN, PERSON, DoNotDisturb(enabled=True))
    ok(fake, 204)
    api.put_simultaneous_ring(PARTNER, PERSON, SimultaneousRing())
    ok(fake, 204)
    api.delete_criterion(PARTNER, PERSON, "c/1")
    assert [c["url"] for c in fake.calls] == [
        f"{BASE}/people/{Q}/features/doNotDisturb",
        f"{BASE}/telephony/config/people/{Q}/simultaneousRing?orgId=cust",
        f"{BASE}/telephony/config/people/{Q}/selectiveForward/criteria/c%2F1?orgId=cust",
    ]
    assert fake.calls[0]["headers"]["Authorization"] == "Bearer tok"
    assert [c["method"] for c in fake.calls] == ["PUT", "PUT", "DELETE"]


def test_criterion_wire_body_has_webex_field_names(fake):
    ok(fake, 201, {"id": "crit-1"})
    created = api.create_criterion(CONN, PERSON, RULE)
    assert created.id == "crit-1" and created == RULE
    assert fake.calls[0]["json"] == {
        "forwardToPhoneNumber": "+15555550199", "sendToVoicemailEnabled": False,
        "scheduleName": "Office", "scheduleType": "businessHours", "scheduleLevel": "PEOPLE",
        "callsFrom": "SELECT_PHONE_NUMBERS", "anonymousCallersEnabled": False,
        "unavailableCallersEnabled": False, "phoneNumbers": ["+15555550111"],
        "forwardEnabled": True,
    }


def test_criterion_without_schedule_sends_no_schedule_fields():
    body = Criterion(forward_to_phone_number="+1555").to_wire()
    assert "scheduleName" not in body and body["callsFrom"] == "ANY_PHONE_NUMBER"


def test_simultaneous_ring_wire():
    ring = SimultaneousRing(enabled=True, do_not_ring_if_on_call_enabled=True,
                            phone_numbers=(SimRingNumber("+1555", True),))
    assert ring.to_wire() == {
        "enabled": True, "doNotRingIfOnCallEnabled": True,
        "phoneNumbers": [{"phoneNumber": "+1555", "answerConfirmationEnabled": True}],
        "criteriasEnabled": False}
    # The workspace API's newer name is read too.
    assert SimultaneousRing.from_wire({"phoneNumbers": [
        {"phoneNumber": "+1555", "answerConfirmationRequiredEnabled": True}, "junk",
        {"phoneNumber": 5}]}).phone_numbers == (SimRingNumber("+1555", True),)


def test_schedule_wire_round_trip():
    event = ScheduleEvent(name="Weekdays", start_date="2025-01-06", end_date="2025-01-06",
                          start_time="09:00", end_time="17:00",
                          recurrence=Recurrence(weekly_days=("monday", "friday")))
    wire = Schedule(name="Office", type=BUSINESS_HOURS, events=(event,)).to_wire()
    assert wire["events"][0]["recurrence"] == {
        "recurForEver": True, "recurWeekly": {
            "recurInterval": 1, "sunday": False, "monday": True, "tuesday": False,
            "wednesday": False, "thursday": False, "friday": True, "saturday": False}}
    assert Schedule.from_wire(wire) == Schedule(name="Office", type=BUSINESS_HOURS,
                                                events=(event,))
    all_day = ScheduleEvent(name="NY", start_date="2026-01-01", end_date="2026-01-01",
                            all_day_enabled=True)
    assert "startTime" not in all_day.to_wire()
    daily = Recurrence(interval=2, for_ever=False, end_date="2026-01-01").to_wire()
    assert daily == {"recurForEver": False, "recurEndDate": "2026-01-01",
                     "recurDaily": {"recurInterval": 2}}


def test_from_wire_tolerates_wrong_types():
    crit = Criterion.from_wire({"forwardToPhoneNumber": 5, "phoneNumbers": "x",
                                "forwardEnabled": None, "destinationVoicemailEnabled": True})
    assert crit.forward_to_phone_number == "" and crit.phone_numbers == ()
    assert crit.forward_enabled is True and crit.send_to_voicemail_enabled is True
    assert Schedule.from_wire({"events": "nope"}).events == ()


def test_list_criteria_reads_each_criterion(fake):
    ok(fake, 200, {"enabled": True, "criteria": [{"id": "a"}, {"id": 3}, "x"]})
    ok(fake, 200, {**RULE.to_wire()})
    [only] = api.list_criteria(CONN, PERSON)
    assert only.id == "a" and only == RULE
    assert fake.calls[1]["url"].endswith("/selectiveForward/criteria/a")


def test_plan_matches_by_content_ignoring_number_order():
    existing = [RULE.with_id("a"),
                Criterion(forward_to_phone_number="+1999").with_id("b"),
                RULE.with_id("c")]  # a duplicate left by an earlier crash
    reordered = Criterion(**{**RULE.__dict__, "phone_numbers": ("+15555550111",)})
    wanted = Criterion(forward_to_phone_number="+1777")
    kept, to_create, to_delete = api.plan_criteria(existing, [reordered, wanted])
    assert [c.id for c in kept] == ["a"]
    assert to_create == [wanted]
    assert to_delete == ["b", "c"]


def test_reconcile_deletes_before_creating(fake):
    ok(fake, 200, {"criteria": [{"id": "old"}]})
    ok(fake, 200, Criterion(forward_to_phone_number="+1999").to_wire())
    ok(fake, 204)
    ok(fake, 201, {"id": "new"})
    outcome = api.reconcile_criteria(CONN, PERSON, [RULE])
    assert [c["method"] for c in fake.calls] == ["GET", "GET", "DELETE", "POST"]
    assert outcome.deleted == ["old"] and [c.id for c in outcome.criteria] == ["new"]


def test_ensure_schedule_updates_when_events_differ(fake):
    ok(fake, 200, {"schedules": [{"id": "loc", "name": "Office", "type": "businessHours",
                                  "level": "LOCATION"},
                                 {"id": "s1", "name": "Office", "type": "businessHours",
                                  "level": "PEOPLE"}]})
    ok(fake, 200, {"id": "s1", "name": "Office", "type": "businessHours", "events": []})
    ok(fake, 200, {"id": "s1"})
    desired = Schedule(name="Office", type=BUSINESS_HOURS, events=(
        ScheduleEvent(name="D", start_date="2025-01-06", end_date="2025-01-06",
                      start_time="09:00", end_time="17:00"),))
    assert api.ensure_schedule(CONN, PERSON, desired) == ("s1", "updated")
    assert fake.calls[0]["url"].endswith("/features/schedules?type=businessHours")
    put = fake.calls[2]
    assert put["url"].endswith("/features/schedules/businessHours/s1")
    assert put["json"]["newName"] == "Office" and put["json"]["name"] == "Office"
    assert put["json"]["events"][0]["name"] == "D"


@pytest.mark.parametrize("status, body, permanent, words", [
    (400, {"message": "Invalid field value: phoneNumbers may hold at most 10 numbers."},
     True, "Webex Calling refused the settings: Invalid field value"),
    (400, {"message": {"nested": "object"}, "errors": [{"description": ["a list"]}]},
     True, "Webex Calling refused the settings."),
    (404, {"message": "Criteria x not found."}, True, "does not know this person or this rule"),
    (429, {}, False, "slow down"),
    (503, None, False, "had a problem (503)"),
])
def test_errors_become_sentences(fake, status, body, permanent, words):
    fake.answer(fake_http.response(status, body, headers={"Retry-After": "7"}))
    with pytest.raises(ProviderError) as info:
        api.get_criterion(CONN, PERSON, "x")
    error = info.value
    assert error.permanent is permanent and error.status_code == status
    assert words in error.message and error.message.endswith(".")
    assert "{" not in error.message and "[" not in error.message
    assert error.retry_after == 7
