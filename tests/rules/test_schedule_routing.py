"""Schedules, do not disturb and rules for every caller in routing, as a table on plain
RoutingRules (no database): wall-clock schedules across the daylight-saving changes of
2026 in New York (8 March, 1 November) and Berlin (29 March, 25 October), holidays that
come back every year, do not disturb, match_all, during and outside."""

from datetime import UTC, datetime

import pytest

from forwarding.rules import schedule_clock
from forwarding.rules.routing import CallerRoute, RoutingRules, decide
from providers.base import ScheduleState
from providers.capabilities import LYNC, UCWA, WEBEX, capabilities_for
from tests.cast import make_org, make_person, update

GRAPH = capabilities_for("graph", "beta")
OWN = "+12025550100"
NY, BERLIN = "America/New_York", "Europe/Berlin"

OFFICE = {"name": "Office hours", "kind": "business_hours", "hours": {
    **{day: [["09:00", "17:00"]] for day in ("monday", "tuesday", "wednesday", "thursday",
                                              "friday")},
    # Early-morning Sunday hours put the switch hours themselves to the test.
    "sunday": [["01:00", "04:00"]],
}}
NIGHT = {"name": "Night", "kind": "business_hours", "hours": {"saturday": [["20:00", "24:00"]]}}
HOLIDAYS = {"name": "Public holidays", "kind": "holidays", "dates": [
    {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26", "yearly": True},
    {"name": "New Year", "start": "2026-12-31", "end": "2027-01-01", "yearly": True},
    {"name": "Company day", "start": "2026-06-05", "end": "2026-06-05", "yearly": False},
]}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# (case, schedule, instant, zone) -> inside
CLOCK = [
    # New York, spring forward on Sunday 8 March 2026 (02:00 EST -> 03:00 EDT).
    ("NY Monday before the change: 13:30 UTC is 08:30 EST", OFFICE, utc(2026, 3, 2, 13, 30),
     NY, False),
    ("NY Monday after the change: 13:30 UTC is 09:30 EDT", OFFICE, utc(2026, 3, 9, 13, 30),
     NY, True),
    ("NY Monday after the change: 21:30 UTC is 17:30 EDT", OFFICE, utc(2026, 3, 9, 21, 30),
     NY, False),
    ("NY Monday before the change: 21:30 UTC is 16:30 EST", OFFICE, utc(2026, 3, 2, 21, 30),
     NY, True),
    ("NY switch day: 06:59 UTC is 01:59 EST", OFFICE, utc(2026, 3, 8, 6, 59), NY, True),
    ("NY switch day: 07:00 UTC is 03:00 EDT (02:00 never happens)", OFFICE,
     utc(2026, 3, 8, 7, 0), NY, True),
    ("NY switch day: 08:00 UTC is 04:00 EDT, the end", OFFICE, utc(2026, 3, 8, 8, 0), NY,
     False),
    # New York, fall back on Sunday 1 November 2026 (02:00 EDT -> 01:00 EST): 01:30 twice.
    ("NY 01:30 EDT, the first time", OFFICE, utc(2026, 11, 1, 5, 30), NY, True),
    ("NY 01:30 EST, the second time", OFFICE, utc(2026, 11, 1, 6, 30), NY, True),
    ("NY 04:00 EST: the end", OFFICE, utc(2026, 11, 1, 9, 0), NY, False),
    ("NY Monday after fall back: 14:00 UTC is 09:00 EST", OFFICE, utc(2026, 11, 2, 14, 0),
     NY, True),
    ("NY Monday after fall back: 13:59 UTC is 08:59 EST", OFFICE, utc(2026, 11, 2, 13, 59),
     NY, False),
    # Berlin, spring forward on Sunday 29 March 2026 (02:00 CET -> 03:00 CEST).
    ("Berlin Monday before: 07:30 UTC is 08:30 CET", OFFICE, utc(2026, 3, 23, 7, 30), BERLIN,
     False),
    ("Berlin Monday after: 07:30 UTC is 09:30 CEST", OFFICE, utc(2026, 3, 30, 7, 30), BERLIN,
     True),
    ("Berlin switch day: 00:30 UTC is 01:30 CET", OFFICE, utc(2026, 3, 29, 0, 30), BERLIN,
     True),
    ("Berlin switch day: 01:30 UTC is 03:30 CEST", OFFICE, utc(2026, 3, 29, 1, 30), BERLIN,
     True),
    ("Berlin switch day: 02:00 UTC is 04:00 CEST, the end", OFFICE, utc(2026, 3, 29, 2, 0),
     BERLIN, False),
    # Berlin, fall back on Sunday 25 October 2026 (03:00 CEST -> 02:00 CET): 02:30 twice.
    ("Berlin 03:59 CET on the fall-back day", OFFICE, utc(2026, 10, 25, 2, 59), BERLIN,
     True),
    ("Berlin 04:00 CET on the fall-back day: the end", OFFICE, utc(2026, 10, 25, 3, 0),
     BERLIN, False),
    ("Berlin Monday after: 08:00 UTC is 09:00 CET", OFFICE, utc(2026, 10, 26, 8, 0), BERLIN,
     True),
    ("Berlin Monday after: 16:00 UTC is 17:00 CET, the end", OFFICE,
     utc(2026, 10, 26, 16, 0), BERLIN, False),
    # The same instant in two zones: Monday 9 March 14:00 UTC.
    ("NY 10:00 EDT", OFFICE, utc(2026, 3, 9, 14, 0), NY, True),
    ("Berlin 15:00 CET", OFFICE, utc(2026, 3, 9, 14, 0), BERLIN, True),
    ("Berlin 17:00 CET", OFFICE, utc(2026, 3, 9, 16, 0), BERLIN, False),
    # 24:00 ends at midnight.
    ("Saturday 23:59", NIGHT, utc(2026, 3, 7, 22, 59), BERLIN, True),
    ("Sunday 00:00", NIGHT, utc(2026, 3, 7, 23, 0), BERLIN, False),
    # Holidays are days of the person's zone, the last day included, yearly ones recur.
    ("Christmas Eve 23:00 in New York is Christmas in UTC", HOLIDAYS,
     utc(2026, 12, 25, 4, 0), NY, False),
    ("Christmas morning in Berlin", HOLIDAYS, utc(2026, 12, 25, 5, 0), BERLIN, True),
    ("the last day is included", HOLIDAYS, utc(2026, 12, 26, 22, 0), BERLIN, True),
    ("the day after is not", HOLIDAYS, utc(2026, 12, 26, 23, 0), BERLIN, False),
    ("Christmas comes back the next year", HOLIDAYS, utc(2027, 12, 25, 12, 0), NY, True),
    ("and not before its first year", HOLIDAYS, utc(2025, 12, 25, 12, 0), NY, False),
    ("New Year wraps the year, and recurs", HOLIDAYS, utc(2028, 1, 1, 12, 0), NY, True),
    ("a one-off date does not recur", HOLIDAYS, utc(2027, 6, 5, 12, 0), NY, False),
    ("a one-off date holds on its day", HOLIDAYS, utc(2026, 6, 5, 12, 0), NY, True),
]


@pytest.mark.parametrize(("schedule", "at", "zone", "inside"),
                         [case[1:] for case in CLOCK], ids=[case[0] for case in CLOCK])
def test_schedule_clock(schedule, at, zone, inside):
    assert schedule_clock.is_inside(schedule, at, zone) is inside
    # The neutral ScheduleState reads the same.
    state = schedule_clock.schedule_state(schedule)
    assert isinstance(state, ScheduleState)
    assert schedule_clock.is_inside(state, at, zone) is inside
    assert schedule_clock.stored_schedule(state) == schedule


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        schedule_clock.is_inside(OFFICE, datetime(2026, 3, 9, 10, 0), NY)


# --- routing -----------------------------------------------------------------------------

VOICEMAIL = "+12025550999"
ASSISTANT = "+12025550301"
BOSS = "+12025550123"
STRANGER = "+13035550000"
SCHEDULES = tuple(schedule_clock.schedule_state(s) for s in (OFFICE, HOLIDAYS))
RULES = (
    CallerRoute(callers=(BOSS,), destination=ASSISTANT, schedule="Public holidays",
                schedule_when="during"),
    CallerRoute(match_all=True, destination=VOICEMAIL, schedule="office hours",
                schedule_when="outside"),
)


def plan(caps=WEBEX, zone=NY, **overrides):
    values = {"own_line": OWN, "caller_rules": RULES, "schedules": SCHEDULES,
              "time_zone": zone}
    values.update(overrides)
    return RoutingRules(caps=caps, **values)


MON_0930_EDT = utc(2026, 3, 9, 13, 30)   # New York, after spring forward
MON_0830_EST = utc(2026, 3, 2, 13, 30)   # New York, the week before
MON_1805_EDT = utc(2026, 3, 9, 22, 5)
MON_0930_CEST = utc(2026, 3, 30, 7, 30)  # Berlin, after spring forward
MON_0830_CET = utc(2026, 3, 23, 7, 30)   # Berlin, the week before
CHRISTMAS_2027_NOON_NY = utc(2027, 12, 25, 17, 0)

# (case, rules, caller, at, line state) -> (rule, targets)
TABLE = [
    ("NY: inside office hours nobody is forwarded", plan(), STRANGER, MON_0930_EDT, "idle",
     ("none", [OWN])),
    ("NY: the same UTC time a week earlier is before 09:00 EST: outside",
     plan(), STRANGER, MON_0830_EST, "idle", ("caller_rule:2", [VOICEMAIL])),
    ("NY: Monday 18:05 is outside office hours", plan(), STRANGER, MON_1805_EDT, "idle",
     ("caller_rule:2", [VOICEMAIL])),
    ("Berlin: 09:30 CEST is inside", plan(zone=BERLIN), STRANGER, MON_0930_CEST, "idle",
     ("none", [OWN])),
    ("Berlin: the same UTC time a week earlier is 08:30 CET: outside",
     plan(zone=BERLIN), STRANGER, MON_0830_CET, "idle", ("caller_rule:2", [VOICEMAIL])),
    ("the zone decides: 09:30 UTC+2 in Berlin is 03:30 in New York",
     plan(zone=NY), STRANGER, MON_0930_CEST, "idle", ("caller_rule:2", [VOICEMAIL])),
    ("a holiday rule for one caller comes first (Christmas recurs)",
     plan(), BOSS, CHRISTMAS_2027_NOON_NY, "idle", ("caller_rule:1", [ASSISTANT])),
    ("another caller on the holiday, a Saturday, is outside office hours",
     plan(), STRANGER, CHRISTMAS_2027_NOON_NY, "idle", ("caller_rule:2", [VOICEMAIL])),
    ("the boss on a working day outside the holidays: office hours, nobody forwarded",
     plan(), BOSS, MON_0930_EDT, "idle", ("none", [OWN])),
    ("a rule naming a schedule the person does not have never applies",
     plan(caller_rules=(CallerRoute(match_all=True, destination=VOICEMAIL,
                                    schedule="Gone", schedule_when="outside"),)),
     STRANGER, MON_1805_EDT, "idle", ("none", [OWN])),
    ("match_all without a schedule takes every call, anonymous ones too",
     plan(caller_rules=(CallerRoute(match_all=True, destination=VOICEMAIL),)),
     None, MON_0930_EDT, "busy", ("caller_rule:1", [VOICEMAIL])),
    ("Lync has no clock: a scheduled rule never applies there",
     plan(caps=LYNC, always_enabled=True, always_destination=ASSISTANT), STRANGER,
     MON_1805_EDT, "idle", ("always", [ASSISTANT])),
    ("Graph checks schedules at call time", plan(caps=GRAPH), STRANGER, MON_1805_EDT,
     "idle", ("caller_rule:2", [VOICEMAIL])),
    # Do not disturb: the line behaves as busy.
    ("DND with busy forwarding: busy forwarding applies",
     plan(caller_rules=(), dnd_enabled=True, busy_enabled=True, busy_destination=ASSISTANT),
     STRANGER, MON_0930_EDT, "idle", ("busy", [ASSISTANT])),
    ("DND without busy forwarding: nothing rings",
     plan(caller_rules=(), dnd_enabled=True), STRANGER, MON_0930_EDT, "idle", ("dnd", [])),
    ("DND: simultaneous ring does not ring either",
     plan(caller_rules=(), dnd_enabled=True, simring_enabled=True,
          simring_targets=(ASSISTANT,)), STRANGER, MON_0930_EDT, "idle", ("dnd", [])),
    ("DND: an offline line is busy too (forward-when-busy, not continuity)",
     plan(caller_rules=(), dnd_enabled=True, busy_enabled=True, busy_destination=ASSISTANT,
          continuity_enabled=True, continuity_destination=VOICEMAIL),
     STRANGER, MON_0930_EDT, "offline", ("busy", [ASSISTANT])),
    ("DND: a caller rule still decides first", plan(dnd_enabled=True), STRANGER,
     MON_1805_EDT, "idle", ("caller_rule:2", [VOICEMAIL])),
    ("DND: always-forward still decides", plan(caller_rules=(), dnd_enabled=True,
                                               always_enabled=True,
                                               always_destination=ASSISTANT),
     STRANGER, MON_0930_EDT, "idle", ("always", [ASSISTANT])),
    ("DND is not available on UCWA: the line rings",
     plan(caps=UCWA, caller_rules=(), dnd_enabled=True), STRANGER, MON_0930_EDT, "idle",
     ("none", [OWN])),
    # Graph's bot cannot refuse a call, so DND is not a Graph feature: a stored value
    # never decides there.
    ("Graph: no DND (the bot cannot refuse a call)",
     plan(caps=GRAPH, caller_rules=(), dnd_enabled=True),
     STRANGER, MON_0930_EDT, "idle", ("none", [OWN])),
    # Simultaneous ring that skips the numbers while on a call.
    ("busy line, skip when on a call: only the busy line",
     plan(caller_rules=(), simring_enabled=True, simring_targets=(ASSISTANT,),
          simring_skip_when_on_call=True), STRANGER, MON_0930_EDT, "busy",
     ("none", [OWN])),
    ("idle line, skip when on a call: both ring",
     plan(caller_rules=(), simring_enabled=True, simring_targets=(ASSISTANT,),
          simring_skip_when_on_call=True), STRANGER, MON_0930_EDT, "idle",
     ("simring", [OWN, ASSISTANT])),
    ("busy line without the option: both ring",
     plan(caller_rules=(), simring_enabled=True, simring_targets=(ASSISTANT,)),
     STRANGER, MON_0930_EDT, "busy", ("simring", [OWN, ASSISTANT])),
]


@pytest.mark.parametrize(("rules", "caller", "at", "line_state", "expected"),
                         [case[1:] for case in TABLE], ids=[case[0] for case in TABLE])
def test_schedule_routing(rules, caller, at, line_state, expected):
    decision = decide(rules, caller=caller, at=at, line_state=line_state)
    assert (decision.rule, decision.targets) == expected, decision.explanation


def test_explanations_say_during_or_outside_in_plain_words():
    outside = decide(plan(), caller=STRANGER, at=MON_1805_EDT, line_state="idle")
    assert outside.explanation == (
        "Caller rule 2 takes every call, and it is outside Office hours (Monday 18:05 in "
        "America/New_York): the call is forwarded to +1 202 555 0999 (the caller is not "
        "told).")
    during = decide(plan(), caller=BOSS, at=CHRISTMAS_2027_NOON_NY, line_state="idle")
    assert during.explanation.startswith(
        "Caller +1 202 555 0123 matches caller rule 1, and it is during Public holidays "
        "(Saturday 12:00 in America/New_York)")
    dnd = decide(plan(caller_rules=(), dnd_enabled=True, busy_enabled=True,
                      busy_destination=ASSISTANT), caller=STRANGER, at=MON_0930_EDT,
                 line_state="idle")
    assert dnd.explanation.startswith("Do not disturb is on, so the call is treated as busy")


@pytest.mark.django_db
def test_rules_for_reads_schedules_rules_and_the_person_zone():
    org = make_org("graph", time_zone=BERLIN)
    person = make_person(org)
    update(person, schedules=[OFFICE], dnd_enabled=False,
           rules=[{"match_all": True, "destination": VOICEMAIL, "schedule": "Office hours",
                   "schedule_when": "outside"}])
    from forwarding.rules.routing import rules_for

    rules = rules_for(person)
    assert rules.time_zone == BERLIN
    assert rules.schedules == (schedule_clock.schedule_state(OFFICE),)
    assert rules.caller_rules[0].match_all and rules.caller_rules[0].schedule_when == "outside"
    assert decide(rules, caller=STRANGER, at=MON_0830_CET, line_state="idle").rule == \
        "caller_rule:1"
    assert decide(rules, caller=STRANGER, at=MON_0930_CEST, line_state="idle").rule == "none"
