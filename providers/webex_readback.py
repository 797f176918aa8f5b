"""Webex's resources back into a ForwardingState (`decompile`), and the normal form drift
detection compares (`comparable_resources`): the resources `providers.webex_compile`
makes for a state, with orders and ids removed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from .base import CallerRuleState, ForwardingState, ScheduleState
from .webex_compile import _DAY_NAMES, OUTSIDE_SUFFIX, TYPE_TO_KIND, compile_state
from .webex_settings import (
    ANY_PHONE_NUMBER,
    SELECT_PHONE_NUMBERS,
    Criterion,
    DoNotDisturb,
    Schedule,
    ScheduleEvent,
    SimultaneousRing,
)
from .webex_wire import to_wire

# --- back from Webex -----------------------------------------------------------------------


def _hours_of(schedule: Schedule) -> tuple[tuple[str, str, str], ...] | None:
    hours = []
    for event in schedule.events:
        rec = event.recurrence
        if event.all_day_enabled or rec is None or len(rec.weekly_days) != 1 or \
                rec.interval != 1 or not rec.for_ever:
            return None
        end = "24:00" if event.end_date != event.start_date and event.end_time == "00:00" \
            else event.end_time
        hours.append((rec.weekly_days[0], event.start_time, end))
    return tuple(sorted(hours, key=lambda h: (_DAY_NAMES.index(h[0]), h[1])))


def _dates_of(schedule: Schedule) -> tuple[tuple[str, str, str, bool], ...] | None:
    """Whole-day events as holidays; a holiday written out once a year (same day, same
    length, consecutive years: how webex_compile writes yearly ones) reads as yearly."""
    groups: dict[str, list[tuple[date, date]]] = {}
    for event in schedule.events:
        if not event.all_day_enabled or event.recurrence is not None:
            return None
        name = event.name.rsplit(" ", 1)[0] if event.name.endswith(event.start_date) \
            else event.name
        groups.setdefault(name, []).append((date.fromisoformat(event.start_date),
                                            date.fromisoformat(event.end_date)))
    dates = []
    for name, spans in groups.items():
        spans.sort()
        shapes = {(s.month, s.day, (e - s).days) for s, e in spans}
        years = [s.year for s, _ in spans]
        if len(spans) > 1 and len(shapes) == 1 and years == list(range(years[0],
                                                                       years[-1] + 1)):
            dates.append((name, spans[0][0].isoformat(), spans[0][1].isoformat(), True))
        else:
            dates.extend((name, s.isoformat(), e.isoformat(), False) for s, e in spans)
    return tuple(sorted(dates, key=lambda d: d[1]))


def decompile(*, call_forwarding: ForwardingState, criteria, schedules,
              simultaneous_ring: SimultaneousRing, do_not_disturb: DoNotDisturb,
              selective_enabled: bool) -> tuple[ForwardingState, list[str]]:
    """A ForwardingState for what Webex holds, literally (one caller rule per criterion),
    and why parts of it cannot become the portal's rules (empty: all can)."""
    problems: list[str] = []
    own = {}
    for sched in schedules:
        if sched.level != "PEOPLE" or sched.name.endswith(OUTSIDE_SUFFIX):
            continue
        kind = TYPE_TO_KIND.get(sched.type)
        if kind == "business_hours":
            hours = _hours_of(sched)
            if hours is None:
                problems.append(f"The Webex schedule '{sched.name}' has events that are "
                                "not weekly hours.")
                hours = ()
            own[sched.name] = ScheduleState(name=sched.name, kind=kind, hours=hours)
        elif kind == "holidays":
            dates = _dates_of(sched)
            if dates is None:
                problems.append(f"The Webex schedule '{sched.name}' has events that are "
                                "not whole days.")
                dates = ()
            own[sched.name] = ScheduleState(name=sched.name, kind=kind, dates=dates)
    rules = []
    for criterion in criteria if selective_enabled else ():
        if not criterion.forward_enabled:
            problems.append("A Webex selective-forward rule says 'do not forward'; the "
                            "portal has no such rule.")
            continue
        schedule, when = criterion.schedule_name, ""
        if schedule:
            when = "during"
            if schedule.endswith(OUTSIDE_SUFFIX):
                schedule, when = schedule[: -len(OUTSIDE_SUFFIX)], "outside"
            if criterion.schedule_level != "PEOPLE" or schedule not in own:
                problems.append(f"A Webex rule uses the schedule '{criterion.schedule_name}', "
                                "which is not one of the person's own.")
        everyone = criterion.calls_from == ANY_PHONE_NUMBER
        if criterion.calls_from not in (ANY_PHONE_NUMBER, SELECT_PHONE_NUMBERS):
            problems.append("A Webex rule selects internal or external callers; the portal "
                            "selects by number.")
        rules.append(CallerRuleState(
            destination=criterion.forward_to_phone_number,
            callers=() if everyone else tuple(criterion.phone_numbers),
            match_anonymous=not everyone and (criterion.anonymous_callers_enabled
                                              or criterion.unavailable_callers_enabled),
            match_all=everyone, schedule=schedule, schedule_when=when))
    ring = simultaneous_ring
    state = replace(
        call_forwarding,
        simring_enabled=ring.enabled,
        simring_targets=tuple(n.phone_number for n in ring.phone_numbers),
        simring_confirm=tuple(n.phone_number for n in ring.phone_numbers
                              if n.answer_confirmation_enabled),
        simring_skip_when_on_call=ring.do_not_ring_if_on_call_enabled,
        dnd_enabled=do_not_disturb.enabled, dnd_ring_splash=do_not_disturb.ring_splash_enabled,
        caller_rules=tuple(rules), schedules=tuple(own.values()))
    return state, problems


# --- the normal form drift compares --------------------------------------------------------


def _event_form(event: ScheduleEvent) -> dict:
    return event.to_wire()


def comparable_resources(state: ForwardingState, *, today: date | None = None) -> dict:
    """What Webex holds for `state`, in a normal form (orders and ids removed): two states
    are in sync with Webex exactly when these are equal."""
    call_forwarding, extra = comparable_parts(state, today=today)
    forwarding = to_wire(call_forwarding)
    # A section that is off compares as off, whatever destination or count Webex keeps.
    sections = {**forwarding["callForwarding"],
                "businessContinuity": forwarding["businessContinuity"]}
    return {"callForwarding": {k: v if v["enabled"] else {"enabled": False}
                               for k, v in sections.items()}, **extra}


def comparable_parts(state: ForwardingState, *, today: date | None = None
                     ) -> tuple[ForwardingState, dict]:
    """(the state whose call forwarding Webex holds for `state`, the normal form of the
    other resources): drift compares the first's flat settings (readable in the audit
    log) and the second."""
    res = compile_state(state, today=today or date.today())
    return res.call_forwarding, {
        "selectiveForward": res.selective_forward.enabled,
        "criteria": sorted((_criterion_form(c) for c in res.criteria), key=repr),
        "schedules": sorted(
            ({"name": s.name, "type": s.type,
              "events": sorted((_event_form(e) for e in s.events), key=lambda e: e["name"])}
             for s in res.schedules), key=lambda s: (s["type"], s["name"])),
        "simultaneousRing": res.simultaneous_ring.to_wire(),
        "doNotDisturb": {"enabled": res.do_not_disturb.enabled,
                         "ringSplashEnabled": res.do_not_disturb.ring_splash_enabled},
    }


def _criterion_form(criterion: Criterion) -> dict:
    wire = criterion.to_wire()
    wire["phoneNumbers"] = sorted(wire["phoneNumbers"])
    return wire
