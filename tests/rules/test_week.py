"""The week at a glance (forwarding.rules.week): routing.decide sampled at every local hour
of the coming week, in the person's time zone, daylight-saving days included."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from forwarding.models import CallerRule, ForwardingSettings
from forwarding.rules import routing, week
from forwarding.rules.routing import CallerRoute, RoutingRules
from providers.capabilities import capabilities_for
from tests.cast import make_org, make_person

GRAPH = capabilities_for("graph", "beta")
WEBEX = capabilities_for("webex")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OWN = "+12025550142"
# Wednesday 2 December 2026, 10:00 in Berlin.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def rules(**values):
    return RoutingRules(caps=values.pop("caps", GRAPH), own_line=OWN, **values)


def test_nothing_set_rings_the_phone_all_week():
    result = week.week_at_a_glance(rules(), zone=BERLIN, now=NOW)
    assert [d.day for d in result.days][:2] == [date(2026, 12, 2), date(2026, 12, 3)]
    assert len(result.days) == 7 and all(len(d.slots) == 24 for d in result.days)
    assert result.uniform and result.outcomes == [week.Outcome("Rings the phone")]
    assert [r.text for r in result.ranges()][:2] == [
        "Wed 00:00-24:00: Rings the phone", "Thu 00:00-24:00: Rings the phone"]


def test_always_forward_forwards_every_hour():
    result = week.week_at_a_glance(
        rules(caps=WEBEX, always_enabled=True, always_destination="+12025550100"),
        zone=BERLIN, now=NOW)
    assert result.outcomes == [week.Outcome("Forwarded to", "+1 202 555 0100")]
    assert result.ranges()[0].text == "Wed 00:00-24:00: Forwarded to +1 202 555 0100"


def test_a_time_window_shows_in_the_persons_wall_clock_hours():
    # Thursday 09:00-17:00 in Berlin is 08:00-16:00 UTC in winter.
    result = week.week_at_a_glance(
        rules(window_enabled=True, window_destination="+493012345678",
              window_start=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
              window_end=datetime(2026, 12, 3, 16, 0, tzinfo=UTC)),
        zone=BERLIN, now=NOW)
    thursday = [r.text for r in result.ranges() if r.day.day == date(2026, 12, 3)]
    assert thursday == [
        "Thu 00:00-09:00: Rings the phone",
        "Thu 09:00-17:00: Forwarded to +49 30 12345678",
        "Thu 17:00-24:00: Rings the phone",
    ]
    slot = result.days[1].slots[9]
    assert slot.at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert slot.rule == "time_window" and "time window" in slot.explanation
    # The same window seen from New York: 03:00-11:00 local.
    seen_from_ny = week.week_at_a_glance(
        rules(window_enabled=True, window_destination="+493012345678",
              window_start=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
              window_end=datetime(2026, 12, 3, 16, 0, tzinfo=UTC)),
        zone=NEW_YORK, now=NOW)
    assert "Thu 03:00-11:00: Forwarded to +49 30 12345678" in [
        r.text for r in seen_from_ny.ranges()]


def test_simultaneous_ring_names_the_other_numbers():
    result = week.week_at_a_glance(
        rules(simring_enabled=True, simring_targets=("+12025550177",)),
        zone=BERLIN, now=NOW)
    assert result.outcomes == [week.Outcome("Rings the phone and", "+1 202 555 0177")]


def test_a_call_from_anyone_is_not_caught_by_a_rule_for_listed_callers():
    listed = CallerRoute(callers=("+12025550199", "+12025550198"), destination="2001")
    anonymous = CallerRoute(match_anonymous=True, destination="2002")
    people_rules = rules(caller_rules=(listed, anonymous))
    assert week.anyone(people_rules) == "+12025550197"
    result = week.week_at_a_glance(people_rules, zone=BERLIN, now=NOW)
    assert result.outcomes == [week.Outcome("Rings the phone")]
    # A chosen caller is asked as given.
    asked = week.week_at_a_glance(people_rules, zone=BERLIN, now=NOW, caller="+12025550199")
    assert asked.outcomes == [week.Outcome("Forwarded to", "extension 2001")]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # New York springs forward at 02:00 on 8 March 2026: 02:00 does not exist, so the
        # hour is sampled at 03:00 EDT (07:00 UTC), like 03:00 itself.
        (NEW_YORK, date(2026, 3, 8), {1: utc(2026, 3, 8, 6), 2: utc(2026, 3, 8, 7),
                                      3: utc(2026, 3, 8, 7), 4: utc(2026, 3, 8, 8)}),
        # New York falls back on 1 November 2026: 01:00 happens twice; the first counts.
        (NEW_YORK, date(2026, 11, 1), {0: utc(2026, 11, 1, 4), 1: utc(2026, 11, 1, 5),
                                       2: utc(2026, 11, 1, 7)}),
        # Berlin springs forward on 29 March 2026 at 02:00 and falls back on 25 October.
        (BERLIN, date(2026, 3, 29), {1: utc(2026, 3, 29, 0), 2: utc(2026, 3, 29, 1),
                                     3: utc(2026, 3, 29, 1), 4: utc(2026, 3, 29, 2)}),
        (BERLIN, date(2026, 10, 25), {1: utc(2026, 10, 24, 23), 2: utc(2026, 10, 25, 0),
                                      3: utc(2026, 10, 25, 2)}),
    ],
)
def test_hours_are_wall_clock_hours_across_daylight_saving_changes(zone, day, expected):
    assert {hour: week.local_hour(day, hour, zone) for hour in expected} == expected


def test_a_window_ending_inside_the_week_is_seen_in_the_right_local_hours_on_a_dst_day():
    # Sunday 29 March 2026 in Berlin: 23 hours. A window until 10:00 local (08:00 UTC, CEST).
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    result = week.week_at_a_glance(
        rules(window_enabled=True, window_destination="2001",
              window_start=datetime(2026, 3, 28, 0, 0, tzinfo=UTC),
              window_end=datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        zone=BERLIN, now=now)
    sunday = [r.text for r in result.ranges() if r.day.day == date(2026, 3, 29)]
    assert sunday == ["Sun 00:00-10:00: Forwarded to extension 2001",
                      "Sun 10:00-24:00: Rings the phone"]


@pytest.mark.django_db
def test_outside_business_hours_rule_forwards_evenings_and_weekends():
    """The journey's picture: calls from anyone outside Mon-Fri 09:00-17:00 go to a
    colleague. Read through rules_from, as the page does."""
    org = make_org("webex", time_zone="Europe/Berlin")
    person = make_person(org, number=OWN)
    settings = ForwardingSettings.objects.create(person=person, schedules=[{
        "name": "Office hours", "kind": "business_hours",
        "hours": {d: [["09:00", "17:00"]] for d in
                  ("monday", "tuesday", "wednesday", "thursday", "friday")}}])
    CallerRule.objects.create(settings=settings, position=0, match_all=True,
                              destination="+12025550100", schedule="Office hours",
                              schedule_when="outside")
    result = week.week_at_a_glance(routing.rules_for(person), zone=BERLIN, now=NOW)
    texts = [r.text for r in result.ranges()]
    assert "Wed 09:00-17:00: Rings the phone" in texts
    assert "Wed 17:00-24:00: Forwarded to +1 202 555 0100" in texts
    assert "Sat 00:00-24:00: Forwarded to +1 202 555 0100" in texts
