"""Test helpers: the portal's first-match semantics written out plainly (independent of
forwarding.rules.routing), and the sandbox's Webex view of compiled resources."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from providers.base import ForwardingState, ScheduleState
from providers.webex import to_wire
from providers.webex_compile import compile_state

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def inside(schedule: ScheduleState, local: datetime) -> bool:
    if schedule.kind == "business_hours":
        day = DAYS[local.weekday()]
        clock = local.strftime("%H:%M")
        return any(d == day and start <= clock < (end if end != "24:00" else "24:01")
                   for d, start, end in schedule.hours)
    today = local.date()
    for _, start, end, yearly in schedule.dates:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        if not yearly:
            if first <= today <= last:
                return True
            continue
        for year in (today.year - 1, today.year):
            try:
                begin = first.replace(year=year)
            except ValueError:
                begin = first.replace(year=year, day=28)
            if begin <= today <= begin + (last - first):
                return True
    return False


def portal_decides(state: ForwardingState, *, caller, at: datetime, line_state="idle",
                   own_line="own") -> list[str]:
    local = at.astimezone(ZoneInfo(state.time_zone)).replace(tzinfo=None)
    schedules = {s.name: s for s in state.schedules}
    for rule in state.caller_rules:
        if rule.match_all:
            callers_match = True
        elif caller is None:
            callers_match = rule.match_anonymous
        else:
            callers_match = caller in rule.callers
        if not callers_match or not rule.destination:
            continue
        if rule.schedule:
            within = inside(schedules[rule.schedule], local)
            if within != (rule.schedule_when != "outside"):
                continue
        return [rule.destination]
    if state.always_enabled and state.always_destination:
        return [state.always_destination]
    busy = line_state == "busy" or state.dnd_enabled
    effective = "busy" if busy else line_state
    feature = {"busy": ("busy_enabled", "busy_destination"),
               "no_answer": ("no_answer_enabled", "no_answer_destination"),
               "offline": ("continuity_enabled", "continuity_destination")}.get(effective)
    if feature and getattr(state, feature[0]) and getattr(state, feature[1]):
        return [getattr(state, feature[1])]
    if state.dnd_enabled:
        return []
    if state.simring_enabled and state.simring_targets and not (
            line_state == "busy" and state.simring_skip_when_on_call):
        return ([] if line_state == "offline" else [own_line]) + list(state.simring_targets)
    return [] if line_state == "offline" else [own_line]


def sandbox_view(state: ForwardingState, *, today: date) -> dict:
    """What the sandbox would hold after pushing `state` (control view's shape)."""
    res = compile_state(state, today=today)
    criteria = [dict(c.to_wire(), id=str(i)) for i, c in enumerate(res.criteria)]
    return {
        "settings": to_wire(res.call_forwarding),
        "features": {
            "selectiveForward": res.selective_forward.to_wire(),
            "criteria": criteria,
            "simultaneousRing": res.simultaneous_ring.to_wire(),
            "doNotDisturb": res.do_not_disturb.to_wire(),
            "schedules": [s.to_wire() for s in res.schedules],
        },
    }
