"""Webex person schedules in the sandbox: validation of schedules and their events.

A schedule is ``{"name", "type": "businessHours"|"holidays", "events": [...]}``; an
event is ``{"name", "startDate", "endDate", "startTime", "endTime", "allDayEnabled",
"recurrence"}`` with the recurrence fields of Webex's reference (see
docs/webex-person-settings.md).  What Webex refuses here, with 400: a malformed date
or time, an event that ends before (or when) it starts, a recurrence that names both
``recurDaily`` and ``recurWeekly`` (or neither while asking to recur), a weekly
recurrence on no day, and two events of one schedule that overlap.

Overlap is decided by expanding every event's occurrences over a bounded horizon
(from the earliest start to a year past the latest start, plus one recurrence
interval) and looking for two intervals that intersect; events that touch (one ends
at 17:00, the next starts at 17:00) do not overlap.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from .wire import is_int

SCHEDULE_TYPES = ("businessHours", "holidays")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_NAME_LENGTH = 40  # "The maximum length is 40" (the list's name filter)
_HORIZON_DAYS = 366
_MAX_OCCURRENCES = 5000  # per event, so a daily event from 1970 cannot stall the sandbox
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")


class ScheduleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> ScheduleError:
    return ScheduleError(400, message)


def webex_id(kind: str, name: str) -> str:
    """Webex's ids for schedules and events encode the name (so renaming changes the
    id): base64 of ``ciscospark://us/<KIND>/<base64 of the name>``, unpadded."""
    inner = base64.b64encode(name.encode("utf-8")).decode("ascii")
    raw = f"ciscospark://us/{kind}/{inner}".encode()
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def schedule_id(name: str) -> str:
    return webex_id("USER_SCHEDULE", name)


def event_id(name: str) -> str:
    return webex_id("USER_SCHEDULE_EVENT", name)


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"Invalid field value: {what} is required.")
    if len(value) > MAX_NAME_LENGTH:
        raise _bad(f"Invalid field value: {what} must be at most {MAX_NAME_LENGTH} characters.")
    return value


def check_type(value: Any, what: str = "type") -> str:
    if value not in SCHEDULE_TYPES:
        raise _bad(f"Invalid field value: {what} must be one of {', '.join(SCHEDULE_TYPES)}.")
    return value


def _date(value: Any, what: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise _bad(f"Invalid field value: {what} must be a date in the format YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(f"Invalid field value: {what} is not a valid date.") from None


def _time(value: Any, what: str) -> time:
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise _bad(f"Invalid field value: {what} must be a time in the format HH:MM.")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise _bad(f"Invalid field value: {what} is not a valid time.") from None


def _interval(value: Any, what: str) -> int:
    if not is_int(value) or value < 1:
        raise _bad(f"Invalid field value: {what} must be a whole number of at least 1.")
    return value


def _check_recurrence(rec: Any, where: str) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise _bad(f"Invalid field value: {where}.recurrence must be an object.")
    known = {"recurForEver", "recurEndDate", "recurEndOccurrence", "recurDaily", "recurWeekly"}
    for key in rec:
        if key not in known:
            raise _bad(f"Unknown field: {where}.recurrence.{key}.")
    daily, weekly = rec.get("recurDaily"), rec.get("recurWeekly")
    if daily is not None and weekly is not None:
        raise _bad(f"Invalid field value: {where}.recurrence may not have both "
                   "recurDaily and recurWeekly.")
    if daily is None and weekly is None:
        if any(rec.get(k) for k in ("recurForEver", "recurEndDate", "recurEndOccurrence")):
            raise _bad(f"Invalid field value: {where}.recurrence requires recurDaily "
                       "or recurWeekly.")
        return rec
    if "recurForEver" in rec and not isinstance(rec["recurForEver"], bool):
        raise _bad(f"Invalid field value: {where}.recurrence.recurForEver must be a boolean.")
    if rec.get("recurEndDate") is not None:
        _date(rec["recurEndDate"], f"{where}.recurrence.recurEndDate")
    if rec.get("recurEndOccurrence") is not None:
        _interval(rec["recurEndOccurrence"], f"{where}.recurrence.recurEndOccurrence")
    if daily is not None:
        if not isinstance(daily, dict):
            raise _bad(f"Invalid field value: {where}.recurrence.recurDaily must be an object.")
        _interval(daily.get("recurInterval"), f"{where}.recurrence.recurDaily.recurInterval")
    else:
        if not isinstance(weekly, dict):
            raise _bad(f"Invalid field value: {where}.recurrence.recurWeekly must be an object.")
        for key, value in weekly.items():
            if key != "recurInterval" and key not in WEEKDAYS:
                raise _bad(f"Unknown field: {where}.recurrence.recurWeekly.{key}.")
            if key in WEEKDAYS and not isinstance(value, bool):
                raise _bad(f"Invalid field value: {where}.recurrence.recurWeekly.{key} "
                           "must be a boolean.")
        _interval(weekly.get("recurInterval", 1), f"{where}.recurrence.recurWeekly.recurInterval")
        if not any(weekly.get(day) for day in WEEKDAYS):
            raise _bad(f"Invalid field value: {where}.recurrence.recurWeekly must name at "
                       "least one day.")
    return rec


_EVENT_KEYS = ("name", "startDate", "endDate", "startTime", "endTime", "allDayEnabled",
               "recurrence")


def check_event(body: Any, where: str = "event") -> dict[str, Any]:
    """A valid event, normalised to Webex's key order, or a ScheduleError."""
    if not isinstance(body, dict):
        raise _bad(f"Invalid field value: {where} must be an object.")
    for key in body:
        if key not in _EVENT_KEYS and key != "id":
            raise _bad(f"Unknown field: {where}.{key}.")
    name = check_name(body.get("name"), f"{where}.name")
    all_day = body.get("allDayEnabled", False)
    if not isinstance(all_day, bool):
        raise _bad(f"Invalid field value: {where}.allDayEnabled must be a boolean.")
    start_d = _date(body.get("startDate"), f"{where}.startDate")
    end_d = _date(body.get("endDate"), f"{where}.endDate")
    event: dict[str, Any] = {"id": event_id(name), "name": name,
                             "startDate": body["startDate"], "endDate": body["endDate"]}
    if all_day:
        if end_d < start_d:
            raise _bad(f"Invalid field value: {where} ends before it starts.")
    else:
        start_t = _time(body.get("startTime"), f"{where}.startTime")
        end_t = _time(body.get("endTime"), f"{where}.endTime")
        if datetime.combine(end_d, end_t) <= datetime.combine(start_d, start_t):
            raise _bad(f"Invalid field value: {where} ends before it starts.")
        event["startTime"] = body["startTime"]
        event["endTime"] = body["endTime"]
    event["allDayEnabled"] = all_day
    if body.get("recurrence") is not None:
        event["recurrence"] = _check_recurrence(body["recurrence"], where)
    return event


def _span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    start_d = date.fromisoformat(event["startDate"])
    end_d = date.fromisoformat(event["endDate"])
    if event.get("allDayEnabled"):
        return datetime.combine(start_d, time()), datetime.combine(end_d + timedelta(days=1),
                                                                   time())
    return (datetime.combine(start_d, time.fromisoformat(event["startTime"])),
            datetime.combine(end_d, time.fromisoformat(event["endTime"])))


def _starts(event: dict[str, Any], first: datetime, horizon: datetime):
    """Start times of the event's occurrences up to `horizon`."""
    rec = event.get("recurrence") or {}
    daily, weekly = rec.get("recurDaily"), rec.get("recurWeekly")
    if daily is None and weekly is None:
        yield first
        return
    end_date = date.fromisoformat(rec["recurEndDate"]) if rec.get("recurEndDate") else None
    limit = rec.get("recurEndOccurrence") or _MAX_OCCURRENCES
    count, day = 0, first
    while day <= horizon and count < min(limit, _MAX_OCCURRENCES):
        if end_date is not None and day.date() > end_date:
            return
        if daily is not None:
            due = (day - first).days % daily["recurInterval"] == 0
        else:
            weeks = (day.date() - first.date()).days // 7
            due = (weekly.get(WEEKDAYS[day.weekday()]) and
                   weeks % weekly.get("recurInterval", 1) == 0)
        if due:
            count += 1
            yield day
        day += timedelta(days=1)


def find_overlap(events: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The names of two events that overlap, or None."""
    if len(events) < 2:
        return None
    spans = {e["name"]: _span(e) for e in events}
    latest = max(start for start, _ in spans.values())
    horizon = latest + timedelta(days=_HORIZON_DAYS + 7 * _max_interval(events))
    intervals = []
    for event in events:
        start, end = spans[event["name"]]
        length = end - start
        for begin in _starts(event, start, horizon):
            intervals.append((begin, begin + length, event["name"]))
    intervals.sort()
    reach_end, reach_name = None, None
    for begin, end, name in intervals:
        if reach_end is not None and begin < reach_end and name != reach_name:
            return reach_name, name
        if reach_end is None or end > reach_end:
            reach_end, reach_name = end, name
    return None


def _max_interval(events: list[dict[str, Any]]) -> int:
    biggest = 1
    for event in events:
        rec = event.get("recurrence") or {}
        for key in ("recurDaily", "recurWeekly"):
            if rec.get(key):
                biggest = max(biggest, rec[key].get("recurInterval", 1))
    return biggest


def check_events(events: Any, where: str = "events") -> list[dict[str, Any]]:
    """A valid list of events (unique names, no overlap), or a ScheduleError."""
    if not isinstance(events, list):
        raise _bad(f"Invalid field value: {where} must be a list.")
    checked = [check_event(e, f"{where}[{i}]") for i, e in enumerate(events)]
    names = [e["name"] for e in checked]
    for name in names:
        if names.count(name) > 1:
            raise _bad(f"Invalid field value: two events are named {name!r}.")
    clash = find_overlap(checked)
    if clash is not None:
        raise _bad(f"Invalid field value: events {clash[0]!r} and {clash[1]!r} overlap.")
    return checked
