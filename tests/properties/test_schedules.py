"""Property tests (hypothesis) of schedules in routing: for random schedules, zones,
instants and callers, "during" and "outside" a schedule split every moment between them,
routing agrees with the schedule clock, and a week later on the wall clock the answer is
the same (daylight saving does not move business hours)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from forwarding.rules import schedule_clock
from forwarding.rules.routing import CallerRoute, RoutingRules, decide
from providers.base import WEEKDAYS
from providers.capabilities import capabilities_for

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC",
         "America/St_Johns", "Pacific/Chatham"]
WEBEX = capabilities_for("webex")
OWN, FORWARD = "+12025550100", "+12025550199"

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31),
                        timezones=st.just(UTC))


@st.composite
def business_hours(draw):
    hours = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        pairs = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
        if pairs:
            hours[day] = [[f"{a * 15 // 60:02d}:{a * 15 % 60:02d}",
                           f"{b * 15 // 60:02d}:{b * 15 % 60:02d}"] for a, b in pairs]
    return {"name": "Hours", "kind": "business_hours", "hours": hours}


@st.composite
def holidays(draw):
    dates = []
    for n in range(draw(st.integers(1, 4))):
        start = draw(st.dates(min_value=datetime(2024, 1, 1).date(),
                              max_value=datetime(2032, 12, 31).date()))
        length = draw(st.integers(0, 20))
        dates.append({"name": f"H{n}", "start": start.isoformat(),
                      "end": (start + timedelta(days=length)).isoformat(),
                      "yearly": draw(st.booleans())})
    return {"name": "Hours", "kind": "holidays", "dates": dates}


schedules = st.one_of(business_hours(), holidays())


def rules_with(schedule, zone, when):
    return RoutingRules(
        caps=WEBEX, own_line=OWN, time_zone=zone,
        schedules=(schedule_clock.schedule_state(schedule),),
        caller_rules=(CallerRoute(match_all=True, destination=FORWARD, schedule="hours",
                                  schedule_when=when),))


@settings(max_examples=300, deadline=None)
@given(schedules, st.sampled_from(ZONES), instants,
       st.sampled_from([None, "+13035550100", "sip:x@example.com"]))
def test_during_and_outside_split_every_moment_and_agree_with_the_clock(schedule, zone, at,
                                                                        caller):
    inside = schedule_clock.is_inside(schedule, at, zone)
    during = decide(rules_with(schedule, zone, "during"), caller=caller, at=at,
                    line_state="idle")
    outside = decide(rules_with(schedule, zone, "outside"), caller=caller, at=at,
                     line_state="idle")
    assert (during.rule == "caller_rule:1") is inside
    assert (outside.rule == "caller_rule:1") is not inside
    for decision in (during, outside):
        assert decision.targets in ([FORWARD], [OWN])


@settings(max_examples=300, deadline=None)
@given(business_hours(), st.sampled_from(ZONES), instants)
def test_business_hours_repeat_every_week_on_the_wall_clock(schedule, zone, at):
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    # The same wall time a week later (naive arithmetic on the wall clock), placed back
    # in the zone; skip a wall time that does not exist then (a spring-forward gap).
    later = (local.replace(tzinfo=None) + timedelta(days=7)).replace(tzinfo=tz)
    if later.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != later.replace(tzinfo=None):
        return
    assert schedule_clock.is_inside(schedule, later.astimezone(UTC), zone) == \
        schedule_clock.is_inside(schedule, at, zone)


@given(st.sampled_from(ZONES), instants)
def test_all_day_every_day_is_always_inside(zone, at):
    schedule = {"name": "Always", "kind": "business_hours",
                "hours": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}
    assert schedule_clock.is_inside(schedule, at, zone)
