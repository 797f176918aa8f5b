"""What Webex does with one call, over what the sandbox holds for a person.

`evaluate(person_view, caller=..., at=..., line_state=..., zone=...)` reads the control
view of a Webex person (`GET /_sandbox/webex/people/{id}`: `settings` and `features`)
and answers who rings, with Webex's semantics, not the portal's:

1. Selective forward, when enabled: a criterion matches when its callers match
   (`ANY_PHONE_NUMBER`: everyone, anonymous included; `SELECT_PHONE_NUMBERS`: the listed
   numbers, plus withheld callers with `anonymousCallersEnabled` or
   `unavailableCallersEnabled`) and, with a `scheduleName`, the instant falls inside one
   of that schedule's events. Criteria have no order; a matching "don't forward"
   criterion (`forwardEnabled` false) wins over every forward criterion. Two matching
   forward criteria with different numbers: Webex does not document the outcome, so the
   answer is "ambiguous" (a property test treats it as a failure).
2. Call forwarding always.
3. Do not disturb: the line behaves as busy (help.webex.com d307vb: calls go to the
   busy forwarding, else the caller hears busy).
4. The line's state: busy -> forward when busy, no answer -> forward when not answered,
   offline -> business continuity, each when enabled.
5. Simultaneous ring (not while DND; with doNotRingIfOnCallEnabled the numbers do not
   ring while the line is busy).
6. The person's own line.

Schedules are read in `zone` (Webex applies the location's zone; the portal pushes
wall-clock values of the person's zone, assumed the same). Standard library only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _span(event) -> tuple[datetime, datetime]:
    start_d = date.fromisoformat(event["startDate"])
    end_d = date.fromisoformat(event["endDate"])
    if event.get("allDayEnabled"):
        return (datetime.combine(start_d, time()),
                datetime.combine(end_d + timedelta(days=1), time()))
    return (datetime.combine(start_d, time.fromisoformat(event["startTime"])),
            datetime.combine(end_d, time.fromisoformat(event["endTime"])))


def _occurs_on(event, day: date, first: date) -> bool:
    rec = event.get("recurrence") or {}
    daily, weekly = rec.get("recurDaily"), rec.get("recurWeekly")
    if day < first:
        return False
    if daily is None and weekly is None:
        return day == first
    if rec.get("recurEndDate") and day > date.fromisoformat(rec["recurEndDate"]):
        return False
    if daily is not None:
        return (day - first).days % daily.get("recurInterval", 1) == 0
    weeks = (day - first).days // 7
    return bool(weekly.get(_DAYS[day.weekday()])) and weeks % weekly.get("recurInterval", 1) == 0


def event_contains(event, local: datetime) -> bool:
    """Whether the wall-clock instant `local` (naive) falls in one of the event's
    occurrences (occurrence counts, `recurEndOccurrence`, are not counted here)."""
    start, end = _span(event)
    length = end - start
    for back in range(length.days + 2):
        day = local.date() - timedelta(days=back)
        if _occurs_on(event, day, start.date()):
            begin = datetime.combine(day, start.time())
            if begin <= local < begin + length:
                return True
    return False


def schedule_contains(schedule, local: datetime) -> bool:
    return any(event_contains(e, local) for e in schedule.get("events") or ())


def _caller_matches(criterion, caller: str | None) -> bool:
    if criterion.get("callsFrom") == "ANY_PHONE_NUMBER":
        return True
    if caller is None:
        return bool(criterion.get("anonymousCallersEnabled")
                    or criterion.get("unavailableCallersEnabled"))
    return caller in (criterion.get("phoneNumbers") or ())


def _criterion_matches(criterion, schedules, caller, local) -> bool:
    if not _caller_matches(criterion, caller):
        return False
    name = criterion.get("scheduleName")
    if not name:
        return True
    schedule = next((s for s in schedules if s["name"] == name
                     and s["type"] == criterion.get("scheduleType")), None)
    return schedule is not None and schedule_contains(schedule, local)


def evaluate(person_view, *, caller: str | None, at: datetime, line_state: str = "idle",
             zone: str = "UTC", own_line: str = "own") -> dict:
    """{"targets": [...], "rule": step name} for one call; `at` is aware (UTC)."""
    settings = person_view["settings"]
    features = person_view.get("features") or {}
    local = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    selective = features.get("selectiveForward") or {}
    if selective.get("enabled"):
        schedules = features.get("schedules") or []
        matching = [c for c in features.get("criteria") or ()
                    if _criterion_matches(c, schedules, caller, local)]
        if matching and not any(c.get("forwardEnabled") is False for c in matching):
            numbers = sorted({c["forwardToPhoneNumber"] for c in matching})
            if len(numbers) > 1:
                return {"targets": numbers, "rule": "ambiguous"}
            return {"targets": numbers, "rule": "selective"}
    cf = settings["callForwarding"]
    if cf["always"]["enabled"] and cf["always"]["destination"]:
        return {"targets": [cf["always"]["destination"]], "rule": "always"}
    dnd = (features.get("doNotDisturb") or {}).get("enabled")
    # DND is decided by Webex before it tries the phone: a call gets busy treatment even
    # when the phone is offline (business continuity is for calls Webex tries to deliver).
    state = "busy" if dnd else line_state
    section = {"busy": cf["busy"], "no_answer": cf["noAnswer"],
               "offline": settings["businessContinuity"]}.get(state)
    if section and section["enabled"] and section["destination"]:
        return {"targets": [section["destination"]], "rule": state}
    if dnd:
        return {"targets": [], "rule": "dnd"}
    ring = features.get("simultaneousRing") or {}
    numbers = [n["phoneNumber"] for n in ring.get("phoneNumbers") or ()]
    if ring.get("enabled") and numbers and not (
            line_state == "busy" and ring.get("doNotRingIfOnCallEnabled")):
        own = [] if line_state == "offline" else [own_line]
        return {"targets": own + numbers, "rule": "simring"}
    if line_state == "offline":
        return {"targets": [], "rule": "none"}
    return {"targets": [own_line], "rule": "none"}
