"""Checks of a person's schedules (business hours and holidays) before they are stored.

A schedule arrives as the API and forms send it and is stored normalised:
  {"name": "Office hours", "kind": "business_hours",
   "hours": {"monday": [["09:00", "12:00"], ["13:00", "17:00"]], ...}}
  {"name": "Public holidays", "kind": "holidays",
   "dates": [{"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26",
              "yearly": true}]}
Hours are "HH:MM" (a single-digit hour is written with two), start before end, "24:00"
allowed as an end, the intervals of one day not overlapping, sorted. Dates are
"YYYY-MM-DD", the end (inclusive, defaults to the start) not before the start; a yearly
date lasts less than a year. Names: 1-80 characters, unique without regard to case.

Errors are keyed so a form shows them next to the part that is wrong:
"schedules-<i>-name", "schedules-<i>-kind", "schedules-<i>-<weekday>" (an interval of
that day), "schedules-<i>-dates" (naming the date's line), "schedules-<i>-hours" (hours
that are not a set of days), "schedules" (the list as a whole).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from django.core.exceptions import ValidationError

from forwarding.rules.destinations import as_bool, unsupported_message
from forwarding.rules.schedule_clock import BUSINESS_HOURS, HOLIDAYS, KINDS, find, minutes
from providers.base import WEEKDAYS

# Not provider limits: bounds that keep pages, pushes and call-time checks small.
MAX_SCHEDULES = 20
MAX_DATES = 100
MAX_INTERVALS_PER_DAY = 12
NAME_MAX = 80
SCHEDULE_FIELDS = ("name", "kind", "hours", "dates")
DATE_FIELDS = ("name", "start", "end", "yearly")

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _clean_name(value) -> tuple[str, str | None]:
    """(the name stripped, the problem or None)."""
    if not isinstance(value, str):
        return "", "Enter a name."
    name = " ".join(value.split())
    if not name:
        return "", "Enter a name."
    if len(name) > NAME_MAX:
        return name, f"Use at most {NAME_MAX} characters; this one has {len(name)}."
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return name, "Remove the control or invisible characters from the name."
    return name, None


def _clock(value, *, end: bool) -> str | None:
    """A "HH:MM" value normalised, or None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _CLOCK.match(value.strip())
    if match is None:
        return None
    hours, mins = int(match.group(1)), int(match.group(2))
    if mins > 59 or hours > 24 or (hours == 24 and (mins or not end)):
        return None
    return f"{hours:02d}:{mins:02d}"


def _day(value) -> date | None:
    if not isinstance(value, str) or not _DAY.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def check_schedules(errors, raw) -> list[dict] | None:
    """The schedules normalised, or None when the list as a whole is refused."""
    if not isinstance(raw, list | tuple):
        errors.add("schedules", "Send the schedules as a list.")
        return None
    if len(raw) > MAX_SCHEDULES:
        errors.add("schedules", f"At most {MAX_SCHEDULES} schedules; you sent {len(raw)}.")
        return None
    result, seen = [], {}
    for i, schedule in enumerate(raw):
        key = f"schedules-{i}-"
        if not isinstance(schedule, dict):
            errors.add("schedules", f"Schedule {i + 1} is not a schedule.")
            continue
        for name in sorted(set(schedule) - set(SCHEDULE_FIELDS)):
            errors.add(key + name, "This is not a schedule setting.")
        name, problem = _clean_name(schedule.get("name"))
        if problem:
            errors.add(key + "name", problem)
        elif name.casefold() in seen:
            errors.add(key + "name", f"Schedule {seen[name.casefold()] + 1} has this name "
                       "already; give each schedule its own name.")
        else:
            seen[name.casefold()] = i
        kind = schedule.get("kind")
        if kind == BUSINESS_HOURS:
            result.append({"name": name, "kind": kind,
                           "hours": _check_hours(errors, key, schedule.get("hours"))})
        elif kind == HOLIDAYS:
            result.append({"name": name, "kind": kind,
                           "dates": _check_dates(errors, key, schedule.get("dates"))})
        else:
            errors.add(key + "kind", "Choose business hours or holidays.")
    return result


def _check_hours(errors, key, hours) -> dict:
    if hours is None:
        hours = {}
    if not isinstance(hours, dict):
        errors.add(key + "hours", "Send the hours as a set of days (monday: "
                   "[[\"09:00\", \"17:00\"]], ...).")
        return {}
    for day in sorted(set(hours) - set(WEEKDAYS)):
        errors.add(key + "hours", f"{day!s:.20} is not a day of the week; use monday to "
                   "sunday.")
    result = {}
    for day in WEEKDAYS:
        intervals = _check_day(errors, key + day, day, hours.get(day))
        if intervals:
            result[day] = intervals
    if not result and not any(k.startswith(key) for k in errors.by_key):
        errors.add(key + "hours", "Enter the hours of at least one day.")
    return result


def _check_day(errors, key, day, raw) -> list[list[str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        errors.add(key, "Send each day's hours as a list of [start, end] pairs.")
        return []
    if len(raw) > MAX_INTERVALS_PER_DAY:
        errors.add(key, f"At most {MAX_INTERVALS_PER_DAY} intervals on one day.")
        return []
    intervals = []
    for n, pair in enumerate(raw, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            errors.add(key, f"Interval {n}: send a start and an end.")
            continue
        start, end = _clock(pair[0], end=False), _clock(pair[1], end=True)
        if start is None or end is None:
            errors.add(key, f"Interval {n}: write times as HH:MM, for example 09:00 or "
                       "17:30 (24:00 for midnight at the end).")
            continue
        if minutes(end) <= minutes(start):
            errors.add(key, f"Interval {n} ({start}-{end}): the end must be after the "
                       "start.")
            continue
        intervals.append([start, end])
    intervals.sort(key=lambda p: minutes(p[0]))
    for (s1, e1), (s2, e2) in zip(intervals, intervals[1:], strict=False):
        if minutes(s2) < minutes(e1):
            errors.add(key, f"{day.capitalize()}: {s1}-{e1} and {s2}-{e2} overlap.")
    return intervals


def _check_dates(errors, key, raw) -> list[dict]:
    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        errors.add(key + "dates", "Send the dates as a list.")
        return []
    if len(raw) > MAX_DATES:
        errors.add(key + "dates", f"At most {MAX_DATES} dates in one schedule; you sent "
                   f"{len(raw)}.")
        return []
    if not raw:
        errors.add(key + "dates", "List at least one date.")
        return []
    dates, names = [], set()
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            errors.add(key + "dates", f"Date {n} is not a date.")
            continue
        label = f"Date {n}"
        unknown = sorted(set(item) - set(DATE_FIELDS))
        if unknown:
            errors.add(key + "dates", f"{label}: {', '.join(map(str, unknown))} is not a "
                       "date setting.")
        name, problem = _clean_name(item.get("name"))
        if problem:
            errors.add(key + "dates", f"{label}: {problem}")
            continue
        label = f"{label} ({name})"
        if name.casefold() in names:
            errors.add(key + "dates", f"{label}: another date has this name.")
        names.add(name.casefold())
        start = _day(item.get("start"))
        end = _day(item.get("end")) if item.get("end") not in (None, "") else start
        if start is None or end is None:
            errors.add(key + "dates", f"{label}: write dates as YYYY-MM-DD, for example "
                       "2026-12-25.")
            continue
        if end < start:
            errors.add(key + "dates", f"{label}: the last day is before the first.")
            continue
        try:
            yearly = as_bool(item.get("yearly", False))
        except ValidationError:
            errors.add(key + "dates", f"{label}: yearly is yes or no.")
            continue
        if yearly and _spans_a_year(start, end):
            errors.add(key + "dates", f"{label}: a date that comes back every year lasts "
                       "less than a year.")
            continue
        dates.append({"name": name, "start": start.isoformat(), "end": end.isoformat(),
                      "yearly": yearly})
    dates.sort(key=lambda d: (d["start"], d["end"], d["name"]))
    return dates


def _spans_a_year(start: date, end: date) -> bool:
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = date(start.year + 1, 3, 1)
    return end >= anniversary


def check_rule_schedule(errors, key, rule, schedules, caps) -> tuple[str, str]:
    """(schedule name as stored, "during"/"outside") of one caller rule; "" and "" when
    the rule applies at all times. `schedules`: the person's schedules after the change.
    Problems are keyed `key + "schedule"` / `key + "schedule_when"`."""
    raw = rule.get("schedule") or ""
    when = rule.get("schedule_when") or ""
    if not isinstance(raw, str):
        errors.add(key + "schedule", "Choose one of the schedules by its name.")
        return "", ""
    if not isinstance(when, str):
        errors.add(key + "schedule_when", "Choose during or outside.")
        return "", ""
    raw = raw.strip()
    if not raw:
        if when:
            errors.add(key + "schedule", "Choose the schedule this rule applies during or "
                       "outside of, or clear the choice.")
        return "", ""
    if not caps.rules_take_schedules():
        errors.add(key + "schedule", caps.schedule_reason()
                   or unsupported_message(caps, "schedules"))
        return "", ""
    found = find(schedules, raw)
    if found is None:
        names = ", ".join(s["name"] for s in schedules) or "none yet"
        errors.add(key + "schedule", f"There is no schedule called {raw[:NAME_MAX]} "
                   f"(the schedules: {names}).")
        return "", ""
    if when not in ("during", "outside"):
        errors.add(key + "schedule_when", "Choose whether the rule applies during or "
                   "outside this schedule.")
        return found["name"], ""
    return found["name"], when


def used_schedules_removed(schedules, rules) -> list[str]:
    """Sentences for each schedule a caller rule uses that `schedules` no longer holds."""
    missing: dict[str, list[int]] = {}
    for i, rule in enumerate(rules, start=1):
        name = (rule.get("schedule") or "").strip()
        if name and find(schedules, name) is None:
            missing.setdefault(name, []).append(i)
    return [
        f"{name} is used by caller rule{'s' if len(ns) > 1 else ''} "
        f"{', '.join(map(str, ns))}: change or remove "
        f"{'those rules' if len(ns) > 1 else 'that rule'} first."
        for name, ns in missing.items()
    ]


__all__ = ["KINDS", "MAX_DATES", "MAX_SCHEDULES", "check_rule_schedule", "check_schedules",
           "used_schedules_removed"]
