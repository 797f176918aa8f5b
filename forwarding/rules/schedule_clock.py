"""Is an instant inside a schedule? The one reading of a person's schedules, pure (no
database, no Django), shared by routing, the week timeline and the Webex property test.

A schedule's values are wall-clock values of the person's zone: "09:00-17:00 on Monday"
means 09:00 to 17:00 on the clock on the wall that Monday, whatever daylight saving does
(on a switch day the working day is an hour shorter or longer in UTC). So every check
turns the instant into the zone's wall time first and compares there.

- business hours: inside when the wall time falls in one of that weekday's intervals,
  start included, end excluded ("24:00" ends at midnight);
- holidays: inside on every wall-clock day from a date's first to its last day
  (inclusive); a yearly date recurs on the same days of every later year (a date that
  wraps the new year, 31 December to 1 January, too).

Schedules arrive as the stored dicts (ForwardingSettings.schedules) or as
providers.base.ScheduleState; `schedule_state` turns the one into the other.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from providers.base import WEEKDAYS, ScheduleState

BUSINESS_HOURS = "business_hours"
HOLIDAYS = "holidays"
KINDS = (BUSINESS_HOURS, HOLIDAYS)
KIND_LABELS = {BUSINESS_HOURS: "Business hours", HOLIDAYS: "Holidays"}


def minutes(clock: str) -> int:
    """Minutes since midnight of a "HH:MM" value ("24:00" is 1440)."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def schedule_state(stored: dict | ScheduleState) -> ScheduleState:
    """A stored schedule dict as the neutral ScheduleState (hours in weekday order)."""
    if isinstance(stored, ScheduleState):
        return stored
    by_day = stored.get("hours") or {}
    hours = tuple((day, start, end) for day in WEEKDAYS
                  for start, end in by_day.get(day) or ())
    dates = tuple((d.get("name", ""), d["start"], d.get("end") or d["start"],
                   bool(d.get("yearly", False)))
                  for d in stored.get("dates") or ())
    return ScheduleState(name=stored.get("name", ""), kind=stored.get("kind", ""),
                         hours=hours, dates=dates)


def stored_schedule(state: ScheduleState) -> dict:
    """The stored dict of a ScheduleState (what a provider's read-back compares with)."""
    if state.kind == HOLIDAYS:
        return {"name": state.name, "kind": state.kind,
                "dates": [{"name": n, "start": s, "end": e, "yearly": bool(y)}
                          for n, s, e, y in state.dates]}
    hours: dict[str, list] = {}
    for day, start, end in state.hours:
        hours.setdefault(day, []).append([start, end])
    return {"name": state.name, "kind": state.kind,
            "hours": {day: hours[day] for day in WEEKDAYS if day in hours}}


def _zone(zone: tzinfo | str | None) -> tzinfo:
    if zone is None or zone == "":
        return ZoneInfo("UTC")
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def wall_time(at: datetime, zone: tzinfo | str | None) -> datetime:
    """`at` (aware) on the wall clock of `zone`."""
    if at.tzinfo is None:
        raise ValueError("an instant needs its time zone (an aware datetime)")
    return at.astimezone(_zone(zone))


def _in_hours(hours, local: datetime) -> bool:
    day = WEEKDAYS[local.weekday()]
    now = local.hour * 60 + local.minute
    return any(d == day and minutes(start) <= now < minutes(end) for d, start, end in hours)


def _in_dates(dates, today: date) -> bool:
    for _name, first, last, yearly in dates:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        if start <= today <= end:
            return True
        if not yearly or today < start:
            continue
        # Compared as (month, day): the same days of every later year.
        day, lo, hi = (today.month, today.day), (start.month, start.day), (end.month, end.day)
        if (lo <= day <= hi) if lo <= hi else (day >= lo or day <= hi):
            return True
    return False


def is_inside(schedule: dict | ScheduleState, at: datetime,
              zone: tzinfo | str | None) -> bool:
    """Whether instant `at` falls inside `schedule`, read in `zone`."""
    state = schedule_state(schedule)
    local = wall_time(at, zone)
    if state.kind == BUSINESS_HOURS:
        return _in_hours(state.hours, local)
    if state.kind == HOLIDAYS:
        return _in_dates(state.dates, local.date())
    return False


def find(schedules, name: str):
    """The schedule called `name` (names compare without regard to case), or None."""
    wanted = name.strip().casefold()
    for schedule in schedules:
        state_name = schedule.name if isinstance(schedule, ScheduleState) \
            else schedule.get("name", "")
        if state_name.strip().casefold() == wanted:
            return schedule
    return None
