"""The plain-words description of a person's settings (forwarding.rules.selectors.describe):
what pages, audit rows and emails show. One sentence per feature the provider supports, in
a fixed order, for "you" or for a named person."""

from datetime import UTC, datetime

from forwarding.rules import selectors
from providers.capabilities import FEATURES, capabilities_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WEBEX = capabilities_for("webex")
UCWA = capabilities_for("ucwa")
GRAPH_BETA = capabilities_for("graph", "beta")

EVERYTHING_ON = {
    "always_enabled": True, "always_destination": "+12025550100",
    "always_ring_reminder": True, "always_voicemail": True,
    "busy_enabled": True, "busy_destination": "2001", "busy_voicemail": False,
    "no_answer_enabled": True, "no_answer_destination": "sip:desk@acme.example",
    "no_answer_ring_after": 3, "no_answer_voicemail": False,
    "continuity_enabled": True, "continuity_destination": "+442079460000",
    "continuity_voicemail": False,
    "simring_enabled": True, "simring_targets": ["+12025550101", "2002"],
    "simring_timeout": None,
    "window_enabled": True, "window_start": "2026-03-02T08:00:00+00:00",
    "window_end": "2026-03-02T18:00:00+00:00", "window_destination": "2003",
    "caller_rules": [{"callers": ["+13035550110"], "match_anonymous": True,
                      "destination": "2004", "disposition": "redirect",
                      "mask_caller": True, "mask_callee": True}],
}


def texts(values, caps, name=None):
    return {d["feature"]: (d["on"], d["text"])
            for d in selectors.describe(values, caps=caps, name=name, now=NOW)}


def test_only_the_features_of_the_provider_in_a_fixed_order():
    assert [d["feature"] for d in selectors.describe({}, caps=WEBEX, now=NOW)] == [
        feature for feature in FEATURES if WEBEX.supports(feature)]
    assert [d["feature"] for d in selectors.describe({}, caps=GRAPH_BETA, now=NOW)] == [
        feature for feature in FEATURES if GRAPH_BETA.supports(feature)]


def test_everything_off_in_the_second_person():
    described = texts({}, WEBEX)
    assert described["always"] == (False, "Calls are not forwarded all the time.")
    assert described["busy"] == (False, "When you are busy, calls are not forwarded.")
    assert described["no_answer"] == (False, "Unanswered calls are not forwarded.")
    assert texts({}, GRAPH_BETA)["simring"] == (False, "Only your own line rings.")


def test_everything_on_for_a_named_person():
    described = texts(EVERYTHING_ON, WEBEX, name="Mia")
    assert described["busy"] == (True, "Calls go to extension 2001 when Mia is busy.")
    assert described["no_answer"] == (
        True, "Calls go to sip:desk@acme.example when Mia does not answer within 3 "
        f"{WEBEX.no_answer_unit}.")
    assert texts(EVERYTHING_ON, WEBEX, name="Mia")["simring"][1].startswith(
        "Calls ring Mia's line and +1 202 555 0101, extension 2002 at the same time")
    assert "simring" not in texts(EVERYTHING_ON, capabilities_for("lync"), name="Mia")
    assert texts(EVERYTHING_ON, UCWA, name="Mia")["simring"][1].startswith(
        "Calls ring Mia's line and +1 202 555 0101, extension 2002 at the same time")


def test_caller_rules_and_the_time_window():
    described = texts(EVERYTHING_ON, GRAPH_BETA)
    assert described["caller_rules"] == (
        True, "Rule 1: calls from +1 303 555 0110, anonymous callers are redirected to "
        "extension 2004 (the caller is told, hiding the caller's number and hiding your "
        "number).")
    on, text = described["time_window"]
    assert on and text.endswith(
        "all calls go to extension 2003; afterwards the other settings apply again. "
        "It is running now.")


def test_a_person_without_a_name_is_you_in_every_sentence():
    # An empty name reads as "you": the verbs agree with it ("you do", not "you does").
    values = {"no_answer_enabled": True, "no_answer_destination": "2001",
              "no_answer_ring_after": 3}
    assert texts(values, WEBEX, name="")["no_answer"] == (
        True, f"Calls go to extension 2001 when you do not answer within 3 "
        f"{WEBEX.no_answer_unit}.")


def test_schedules_dnd_confirmation_and_scheduled_rules_in_words():
    values = {
        "schedules": [
            {"name": "Office hours", "kind": "business_hours", "hours": {
                **{d: [["09:00", "17:00"]] for d in ("monday", "tuesday", "wednesday",
                                                    "thursday", "friday")},
                "saturday": [["10:00", "12:00"]]}},
            {"name": "Holidays", "kind": "holidays", "dates": [
                {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26",
                 "yearly": True},
                {"name": "Company day", "start": "2026-06-05", "end": "2026-06-05",
                 "yearly": False}]},
        ],
        "dnd_enabled": True, "dnd_ring_splash": True,
        "simring_enabled": True, "simring_targets": ["+12025550101", "+12025550102"],
        "simring_confirm": ["+12025550102"], "simring_skip_when_on_call": True,
        "caller_rules": [{"callers": [], "match_all": True, "destination": "+12025550199",
                          "schedule": "Office hours", "schedule_when": "outside"}],
    }
    described = texts(values, WEBEX, name="Mia")
    assert described["schedules"] == (True, (
        "Office hours: Monday to Friday 09:00-17:00; Saturday 10:00-12:00. Holidays: "
        "Christmas (25 Dec 2026 to 26 Dec 2026, every year); Company day (5 Jun 2026)."))
    assert described["dnd"] == (True, "Do not disturb is on: Mia's phone does not ring "
                                "(only a short ring on the phone) and calls are treated as "
                                "busy.")
    assert described["simring"][1].endswith(
        "Whoever answers at +1 202 555 0102 presses a key to take the call. The other "
        "numbers do not ring while Mia is on a call.")
    assert described["caller_rules"] == (True, (
        "Rule 1: all calls outside Office hours are forwarded to +1 202 555 0199 (the "
        "caller is not told)."))
    # History lines name them with their labels.
    lines = selectors.describe_changes({}, values, caps=WEBEX)
    assert any(line.startswith("Do not disturb: Do not disturb is on") for line in lines)
    assert any(line.startswith("Schedules (business hours and holidays): Office hours")
               and line.endswith("(before: No schedules.)") for line in lines)
