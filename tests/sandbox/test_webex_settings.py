"""Webex person settings beyond call forwarding in the sandbox, over real HTTP: selective
forward and its criteria, simultaneous ring, schedules with events, do not disturb;
Webex's validation and error body, auth/orgId/partner rules and rate limits; and the
adapter (providers.webex_settings_api) against them, including a retry that must not
duplicate a criterion."""

from __future__ import annotations

import pytest

from providers import webex_settings_api as api
from providers.base import Connection, ProviderError
from providers.webex_settings import (
    BUSINESS_HOURS,
    HOLIDAYS,
    SELECT_PHONE_NUMBERS,
    Criterion,
    DoNotDisturb,
    Recurrence,
    Schedule,
    ScheduleEvent,
    SelectiveForward,
    SimRingNumber,
    SimultaneousRing,
)

T = "/webex/v1/telephony/config/people/alice"
F = "/webex/v1/people/alice/features"

WEEKDAYS_9_TO_5 = {
    "name": "Weekdays", "startDate": "2025-01-06", "endDate": "2025-01-06",
    "startTime": "09:00", "endTime": "17:00", "allDayEnabled": False,
    "recurrence": {"recurForEver": True, "recurWeekly": {
        "recurInterval": 1, "monday": True, "tuesday": True, "wednesday": True,
        "thursday": True, "friday": True}},
}


@pytest.fixture
def webex(sb):
    sb.token("tok-a", "org-a")
    sb.person("org-a", "alice")
    return sb


def call(sb, method, path, token="tok-a", **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return sb.http.request(method, sb.url + path, headers=headers, timeout=10, **kwargs)


def refused(resp, status, words):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert words in body["message"], body["message"]
    assert body["errors"] == [{"description": body["message"]}]
    assert resp.headers["TrackingID"] == body["trackingId"]


def business_hours(sb, name="Office"):
    resp = call(sb, "POST", f"{F}/schedules",
                json={"name": name, "type": "businessHours", "events": [WEEKDAYS_9_TO_5]})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


# --- flat settings ----------------------------------------------------------------------------


def test_new_person_has_everything_off(webex):
    sf = call(webex, "GET", f"{T}/selectiveForward").json()
    assert sf == {"enabled": False, "defaultPhoneNumberToForward": "",
                  "ringReminderEnabled": False, "destinationVoicemailEnabled": False,
                  "criteria": []}
    assert call(webex, "GET", f"{T}/simultaneousRing").json() == {
        "enabled": False, "doNotRingIfOnCallEnabled": False, "phoneNumbers": [],
        "criteriasEnabled": False, "criteria": []}
    assert call(webex, "GET", f"{F}/doNotDisturb").json() == {
        "enabled": False, "ringSplashEnabled": False, "webexGoOverrideEnabled": False}
    assert call(webex, "GET", f"{F}/schedules").json() == {"schedules": []}


def test_put_is_partial_and_answers_204(webex):
    assert call(webex, "PUT", f"{F}/doNotDisturb", json={"enabled": True}).status_code == 204
    assert call(webex, "GET", f"{F}/doNotDisturb").json()["enabled"] is True
    resp = call(webex, "PUT", f"{T}/selectiveForward",
                json={"enabled": True, "defaultPhoneNumberToForward": "+15555550100"})
    assert resp.status_code == 204
    got = call(webex, "GET", f"{T}/selectiveForward").json()
    assert (got["enabled"], got["defaultPhoneNumberToForward"]) == (True, "+15555550100")
    assert got["ringReminderEnabled"] is False


def test_simultaneous_ring_takes_ten_numbers_and_refuses_eleven(webex):
    numbers = [{"phoneNumber": f"+1555555{n:04d}", "answerConfirmationEnabled": n % 2 == 0}
               for n in range(11)]
    resp = call(webex, "PUT", f"{T}/simultaneousRing",
                json={"enabled": True, "phoneNumbers": numbers})
    refused(resp, 400, "at most 10 numbers")
    assert call(webex, "GET", f"{T}/simultaneousRing").json()["enabled"] is False  # untouched
    resp = call(webex, "PUT", f"{T}/simultaneousRing",
                json={"enabled": True, "doNotRingIfOnCallEnabled": True,
                      "phoneNumbers": numbers[:10]})
    assert resp.status_code == 204
    got = call(webex, "GET", f"{T}/simultaneousRing").json()
    assert got["phoneNumbers"] == numbers[:10]
    assert got["doNotRingIfOnCallEnabled"] is True


@pytest.mark.parametrize("body, words", [
    ({"enabled": "yes"}, "enabled must be a boolean"),
    ({"ringSplash": True}, "Unknown field: ringSplash"),
])
def test_dnd_validation(webex, body, words):
    refused(call(webex, "PUT", f"{F}/doNotDisturb", json=body), 400, words)


# --- auth, org, partner, rate limits ----------------------------------------------------------


def test_same_auth_and_org_rules_as_call_forwarding(webex):
    for path in (f"{T}/selectiveForward", f"{T}/simultaneousRing", f"{F}/doNotDisturb",
                 f"{F}/schedules"):
        refused(call(webex, "GET", path, token="nope"), 401, "valid access token")
        refused(call(webex, "GET", path, params={"orgId": "org-b"}), 403, "not authorized")
    webex.token("tok-b", "org-b")
    refused(call(webex, "GET", f"{F}/doNotDisturb", token="tok-b"), 404, "not found")


def test_partner_reaches_customer_with_org_id(sb):
    sb.token("partner", "org-p", partner_for=["cust"])
    sb.person("cust", "alice")
    assert call(sb, "GET", f"{F}/doNotDisturb", token="partner").status_code == 404
    resp = call(sb, "PUT", f"{F}/doNotDisturb", token="partner", params={"orgId": "cust"},
                json={"enabled": True})
    assert resp.status_code == 204


def test_rate_limited_like_call_forwarding(webex):
    webex.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 1})
    assert call(webex, "GET", f"{F}/doNotDisturb").status_code == 200
    resp = call(webex, "GET", f"{T}/selectiveForward")
    refused(resp, 429, "Too many requests")
    assert int(resp.headers["Retry-After"]) >= 1


def test_wrong_method_is_405(webex):
    refused(call(webex, "DELETE", f"{T}/selectiveForward"), 405, "not allowed")


# --- schedules --------------------------------------------------------------------------------


def test_schedule_crud_with_events(webex):
    schedule_id = business_hours(webex)
    listed = call(webex, "GET", f"{F}/schedules").json()["schedules"]
    assert listed == [{"id": schedule_id, "name": "Office", "type": "businessHours",
                       "level": "PEOPLE"}]
    got = call(webex, "GET", f"{F}/schedules/businessHours/{schedule_id}").json()
    assert got["name"] == "Office" and got["events"][0]["name"] == "Weekdays"
    assert got["events"][0]["recurrence"] == WEEKDAYS_9_TO_5["recurrence"]
    event = {"name": "Saturday", "startDate": "2025-01-11", "endDate": "2025-01-11",
             "startTime": "10:00", "endTime": "12:00"}
    resp = call(webex, "POST", f"{F}/schedules/businessHours/{schedule_id}/events", json=event)
    assert resp.status_code == 201
    event_id = resp.json()["id"]
    assert call(webex, "GET", f"{F}/schedules/businessHours/{schedule_id}/events/{event_id}"
                ).json()["startTime"] == "10:00"
    resp = call(webex, "PUT", f"{F}/schedules/businessHours/{schedule_id}",
                json={"newName": "Office 2", "name": "Office", "type": "businessHours"})
    assert resp.status_code == 200
    new_id = resp.json()["id"]
    assert new_id != schedule_id  # Webex's schedule ids encode the name
    assert call(webex, "GET", f"{F}/schedules/businessHours/{schedule_id}").status_code == 404
    assert len(call(webex, "GET", f"{F}/schedules/businessHours/{new_id}").json()["events"]) == 2
    assert call(webex, "DELETE", f"{F}/schedules/businessHours/{new_id}").status_code == 204
    assert call(webex, "GET", f"{F}/schedules").json() == {"schedules": []}


@pytest.mark.parametrize("event, words", [
    ({**WEEKDAYS_9_TO_5, "endTime": "08:00"}, "ends before it starts"),
    ({**WEEKDAYS_9_TO_5, "endTime": "09:00"}, "ends before it starts"),
    ({**WEEKDAYS_9_TO_5, "startDate": "2025-01-07", "endDate": "2025-01-06"},
     "ends before it starts"),
    ({**WEEKDAYS_9_TO_5, "startDate": "6 Jan"}, "YYYY-MM-DD"),
    ({**WEEKDAYS_9_TO_5, "startTime": "9am"}, "HH:MM"),
    ({**WEEKDAYS_9_TO_5, "recurrence": {"recurDaily": {"recurInterval": 1},
                                        "recurWeekly": {"monday": True}}}, "both"),
    ({**WEEKDAYS_9_TO_5, "recurrence": {"recurWeekly": {"recurInterval": 1}}},
     "at least one day"),
])
def test_schedule_event_validation(webex, event, words):
    resp = call(webex, "POST", f"{F}/schedules",
                json={"name": "Office", "type": "businessHours", "events": [event]})
    refused(resp, 400, words)
    assert call(webex, "GET", f"{F}/schedules").json() == {"schedules": []}


def test_overlapping_events_are_refused(webex):
    lunch = {"name": "Wednesday", "startDate": "2025-03-05", "endDate": "2025-03-05",
             "startTime": "12:00", "endTime": "13:00"}
    resp = call(webex, "POST", f"{F}/schedules",
                json={"name": "Office", "type": "businessHours",
                      "events": [WEEKDAYS_9_TO_5, lunch]})
    refused(resp, 400, "overlap")
    schedule_id = business_hours(webex)
    resp = call(webex, "POST", f"{F}/schedules/businessHours/{schedule_id}/events", json=lunch)
    refused(resp, 400, "overlap")
    # Touching is not overlapping; a Saturday event does not meet a weekday one.
    evening = {**lunch, "name": "Evening", "startTime": "17:00", "endTime": "19:00"}
    saturday = {**lunch, "name": "Saturday", "startDate": "2025-03-08", "endDate": "2025-03-08"}
    for event in (evening, saturday):
        resp = call(webex, "POST", f"{F}/schedules/businessHours/{schedule_id}/events",
                    json=event)
        assert resp.status_code == 201, resp.text


def test_holidays_and_duplicate_names(webex):
    new_year = {"name": "New Year", "startDate": "2026-01-01", "endDate": "2026-01-01",
                "allDayEnabled": True}
    body = {"name": "Holidays", "type": "holidays", "events": [new_year]}
    assert call(webex, "POST", f"{F}/schedules", json=body).status_code == 201
    refused(call(webex, "POST", f"{F}/schedules", json=body), 409, "already exists")
    refused(call(webex, "POST", f"{F}/schedules", json={**body, "type": "weekly"}), 400,
            "type must be one of")


# --- criteria ---------------------------------------------------------------------------------


CRITERION = {"forwardToPhoneNumber": "+15555550199", "sendToVoicemailEnabled": False,
             "scheduleName": "Office", "scheduleType": "businessHours", "scheduleLevel": "PEOPLE",
             "callsFrom": "SELECT_PHONE_NUMBERS", "anonymousCallersEnabled": False,
             "unavailableCallersEnabled": False, "phoneNumbers": ["+15555550111"],
             "forwardEnabled": True}


def test_criterion_crud_with_stable_id(webex):
    business_hours(webex)
    resp = call(webex, "POST", f"{T}/selectiveForward/criteria", json=CRITERION)
    assert resp.status_code == 201, resp.text
    criterion_id = resp.json()["id"]
    assert call(webex, "GET", f"{T}/selectiveForward/criteria/{criterion_id}").json() == {
        "id": criterion_id, **CRITERION}
    summary = call(webex, "GET", f"{T}/selectiveForward").json()["criteria"]
    assert summary == [{"id": criterion_id, "scheduleName": "Office",
                        "source": "SPECIFIC_NUMBERS", "forwardEnabled": True}]
    resp = call(webex, "PUT", f"{T}/selectiveForward/criteria/{criterion_id}",
                json={"forwardToPhoneNumber": "+15555550200", "callsFrom": "ANY_PHONE_NUMBER"})
    assert resp.status_code == 204
    got = call(webex, "GET", f"{T}/selectiveForward/criteria/{criterion_id}").json()
    assert got["id"] == criterion_id and got["forwardToPhoneNumber"] == "+15555550200"
    # A schedule in use cannot be deleted (sandbox decision, docs/sandbox.md).
    schedule_id = call(webex, "GET", f"{F}/schedules").json()["schedules"][0]["id"]
    refused(call(webex, "DELETE", f"{F}/schedules/businessHours/{schedule_id}"), 409, "used")
    assert call(webex, "DELETE",
                f"{T}/selectiveForward/criteria/{criterion_id}").status_code == 204
    refused(call(webex, "GET", f"{T}/selectiveForward/criteria/{criterion_id}"), 404,
            "not found")


@pytest.mark.parametrize("change, words", [
    ({"scheduleName": "Nowhere"}, "does not exist"),
    ({"scheduleType": "holidays"}, "does not exist"),
    ({"scheduleLevel": "GROUP"}, "does not exist"),
    ({"callsFrom": "EVERYONE"}, "callsFrom must be one of"),
    ({"forwardToPhoneNumber": ""}, "forwardToPhoneNumber is required"),
    ({"phoneNumbers": []}, "SELECT_PHONE_NUMBERS needs"),
    ({"colour": "red"}, "Unknown field: colour"),
])
def test_criterion_validation(webex, change, words):
    business_hours(webex)
    resp = call(webex, "POST", f"{T}/selectiveForward/criteria", json={**CRITERION, **change})
    refused(resp, 400, words)
    assert call(webex, "GET", f"{T}/selectiveForward").json()["criteria"] == []


# --- the adapter against the sandbox ----------------------------------------------------------


@pytest.fixture
def conn(webex):
    return Connection(base_url=f"{webex.url}/webex/v1", token="tok-a", org_id="org-a")


DESIRED = [
    Criterion(forward_to_phone_number="+15555550199", schedule_name="Office",
              schedule_type=BUSINESS_HOURS, calls_from=SELECT_PHONE_NUMBERS,
              phone_numbers=("+15555550111", "+15555550112")),
    Criterion(forward_to_phone_number="+15555550300", anonymous_callers_enabled=True,
              calls_from=SELECT_PHONE_NUMBERS),
]
OFFICE = Schedule(name="Office", type=BUSINESS_HOURS, events=(
    ScheduleEvent(name="Weekdays", start_date="2025-01-06", end_date="2025-01-06",
                  start_time="09:00", end_time="17:00",
                  recurrence=Recurrence(weekly_days=("monday", "tuesday", "wednesday",
                                                     "thursday", "friday"))),))


def test_adapter_round_trips_every_resource(webex, conn):
    api.put_selective_forward(conn, "alice", SelectiveForward(
        enabled=True, default_phone_number_to_forward="+15555550100"))
    assert api.get_selective_forward(conn, "alice")[0].enabled is True
    ring = SimultaneousRing(enabled=True, phone_numbers=(
        SimRingNumber("+15555550101", True), SimRingNumber("+15555550102")))
    api.put_simultaneous_ring(conn, "alice", ring)
    assert api.get_simultaneous_ring(conn, "alice") == ring
    api.put_do_not_disturb(conn, "alice", DoNotDisturb(enabled=True, ring_splash_enabled=True))
    assert api.get_do_not_disturb(conn, "alice") == DoNotDisturb(True, True)
    assert api.ensure_schedule(conn, "alice", OFFICE)[1] == "created"
    assert api.ensure_schedule(conn, "alice", OFFICE)[1] == "unchanged"
    [summary] = api.list_schedules(conn, "alice")
    assert api.get_schedule(conn, "alice", BUSINESS_HOURS, summary.id) == OFFICE
    holidays = Schedule(name="Holidays", type=HOLIDAYS, events=(
        ScheduleEvent(name="New Year", start_date="2026-01-01", end_date="2026-01-01",
                      all_day_enabled=True),))
    assert api.ensure_schedule(conn, "alice", holidays)[1] == "created"


def test_reconcile_after_a_crash_creates_no_duplicate(webex, conn):
    api.ensure_schedule(conn, "alice", OFFICE)
    # A worker created the first criterion, then died before recording it.
    api.create_criterion(conn, "alice", DESIRED[0])
    outcome = api.reconcile_criteria(conn, "alice", DESIRED)
    assert [c.key() for c in outcome.created] == [DESIRED[1].key()]
    assert len(outcome.kept) == 1 and outcome.deleted == []
    # The retry of the retry changes nothing, and ids stay what they were.
    again = api.reconcile_criteria(conn, "alice", DESIRED)
    assert again.created == [] and again.deleted == []
    assert sorted(c.id for c in again.kept) == sorted(c.id for c in outcome.criteria)
    assert len(webex.control("GET", "webex/people/alice").json()["features"]["criteria"]) == 2


def test_reconcile_removes_stale_and_duplicate_criteria(webex, conn):
    api.ensure_schedule(conn, "alice", OFFICE)
    twice = api.create_criterion(conn, "alice", DESIRED[1])
    api.create_criterion(conn, "alice", DESIRED[1])
    outcome = api.reconcile_criteria(conn, "alice", [DESIRED[1]])
    assert [c.id for c in outcome.kept] == [twice.id] and len(outcome.deleted) == 1
    assert [c.id for c in api.list_criteria(conn, "alice")] == [twice.id]


def test_adapter_errors_are_sentences(webex, conn):
    with pytest.raises(ProviderError) as info:
        api.create_criterion(conn, "alice", Criterion(forward_to_phone_number="+15555550199",
                                                      schedule_name="Nowhere",
                                                      schedule_type=BUSINESS_HOURS))
    assert info.value.permanent and info.value.status_code == 400
    assert "Webex" in info.value.message and "does not exist" in info.value.message
    too_many = SimultaneousRing(enabled=True, phone_numbers=tuple(
        SimRingNumber(f"+1555555{n:04d}") for n in range(11)))
    with pytest.raises(ProviderError) as info:
        api.put_simultaneous_ring(conn, "alice", too_many)
    assert "at most 10" in info.value.message
