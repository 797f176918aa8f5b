"""A person's whole forwarding as Webex Calling resources, and back (pure, no HTTP).

`compile_state(state, today=...)` turns a provider-neutral `ForwardingState` into what
Webex holds for a person: the callForwarding body (as a ForwardingState for
`providers.webex.to_wire`), selective forward and its criteria, simultaneous ring, the
person's schedules (their own plus derived "outside" schedules) and do not disturb.
`inexpressible(state)` says, in sentences, what Webex cannot hold exactly; validation
refuses such a state before it is saved. Reading back is `providers.webex_readback`
(docs/webex-person-settings.md, "How the portal's rules become criteria").

Webex's rules that shape the mapping (sources in docs/webex-person-settings.md):

* Selective forward takes precedence over call forwarding and other call settings
  (help.webex.com article nsqkmd9: "Selective capabilities (accept, reject, forward) of a
  call take precedence over other call settings"; "This setting takes precedence over
  call forwarding").
* Criteria have no order, and a "don't" criterion wins over the others (same article:
  "Don't Accept takes precedence over Accept"; the issue states the same for forward).
  What Webex does when two *forward* criteria with different numbers match one call is
  not documented, so the compiler never lets that happen: forward criteria with
  different destinations are disjoint.
* Person schedules recur daily or weekly only (yearly recurrence is location-level:
  wxc_sdk's Recurrence table, "recur_yearly_by_date: Location only"), so yearly
  holidays are written out as dated events for HOLIDAY_YEARS years.

The portal's first-match order is kept by splitting callers into classes (each listed
number, anonymous callers, everyone else) and, per class, walking the rules in order:
each rule gets what earlier rules for that class left over. A leftover that needs two
different schedules at once ("during A and not during B"), or "everyone except these
numbers" with a schedule, has no Webex form and is reported by `inexpressible`.
"Everyone else, at all times" goes to call forwarding "always", which Webex consults
only when no criterion matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from .base import CallerRuleState, ForwardingState, ScheduleState
from .webex_settings import (
    ANY_PHONE_NUMBER,
    BUSINESS_HOURS,
    HOLIDAYS,
    MAX_SIMRING_NUMBERS,
    SELECT_PHONE_NUMBERS,
    Criterion,
    DoNotDisturb,
    Recurrence,
    Schedule,
    ScheduleEvent,
    SelectiveForward,
    SimRingNumber,
    SimultaneousRing,
)

KIND_TO_TYPE = {"business_hours": BUSINESS_HOURS, "holidays": HOLIDAYS}
TYPE_TO_KIND = {v: k for k, v in KIND_TO_TYPE.items()}
MAX_NAME = 40  # Webex: schedule and event names, "The maximum length is 40"
OUTSIDE_SUFFIX = " (outside)"  # derived complement schedules: "<name> (outside)"
# Weekly events start on the first such weekday from this Monday (any past date works).
WEEK_ANCHOR = date(2024, 1, 1)
HOLIDAY_YEARS = 5  # yearly holidays are written out from last year for this many years
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EVERYONE = "*"  # the caller class of numbers no rule lists
_ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class WebexResources:
    call_forwarding: ForwardingState
    selective_forward: SelectiveForward
    criteria: tuple[Criterion, ...]
    simultaneous_ring: SimultaneousRing
    schedules: tuple[Schedule, ...]
    do_not_disturb: DoNotDisturb
    problems: tuple[str, ...] = field(default=())


def outside_name(name: str) -> str:
    return f"{name}{OUTSIDE_SUFFIX}"


# --- caller rules -> pieces ----------------------------------------------------------------


def _condition(rule: CallerRuleState):
    return (rule.schedule, rule.schedule_when or "during") if rule.schedule else None


def _classes(rule: CallerRuleState, all_classes: frozenset) -> frozenset:
    if rule.match_all:
        return all_classes
    found = set(rule.callers)
    if rule.match_anonymous:
        found.add(_ANONYMOUS)
    return frozenset(found)


def _leftover(cond, earlier: list):
    """`cond` and none of `earlier`, as one condition; "empty"; or None with a reason
    when it needs two schedules at once."""
    if any(c is None for c in earlier):
        return "empty", None
    names = {c[0] for c in earlier}
    whens = {c[1] for c in earlier}
    if cond is None:
        if not earlier:
            return None, None
        if len(names) > 1:
            return "needs", sorted(names)
        if whens == {"during", "outside"}:
            return "empty", None
        return (next(iter(names)), "outside" if whens == {"during"} else "during"), None
    if not earlier:
        return cond, None
    if names - {cond[0]}:
        return "needs", sorted(names | {cond[0]})
    if cond[1] in whens:
        return "empty", None
    return cond, None


def _pieces(rules: tuple[CallerRuleState, ...]):
    """{(rule index, condition): set of caller classes} and the problems found."""
    numbers = {n for r in rules if not r.match_all for n in r.callers}
    all_classes = frozenset(numbers | {_ANONYMOUS, _EVERYONE})
    classes_of = [_classes(r, all_classes) for r in rules]
    pieces: dict = {}
    problems: list[str] = []
    for klass in sorted(all_classes):
        earlier: list = []
        for index, rule in enumerate(rules):
            if klass not in classes_of[index] or not rule.destination:
                continue
            cond = _condition(rule)
            result, names = _leftover(cond, earlier)
            earlier.append(cond)
            if result == "empty":
                continue
            if result == "needs":
                problems.append(
                    f"Rule {index + 1} applies only where earlier rules for the same callers "
                    f"do not, which depends on the schedules {_quoted(names)} at once; "
                    "Webex can tie a rule to one schedule only. Give these rules the same "
                    "schedule, or different callers.")
                continue
            pieces.setdefault((index, result), set()).add(klass)
    return pieces, all_classes, problems


def _quoted(names) -> str:
    return " and ".join(f"'{n}'" for n in names)


# --- schedules -----------------------------------------------------------------------------


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _weekly_event(day: str, start: int, end: int) -> ScheduleEvent:
    first = WEEK_ANCHOR + timedelta(days=_DAY_NAMES.index(day))
    # An interval ending at midnight ends at 00:00 the next day: Webex times stop at 23:59.
    last = first + timedelta(days=1) if end == 24 * 60 else first
    return ScheduleEvent(
        name=f"{day[:3]} {_clock(start)}-{_clock(end)}", start_date=first.isoformat(),
        end_date=last.isoformat(), start_time=_clock(start), end_time=_clock(end % (24 * 60)),
        recurrence=Recurrence(weekly_days=(day,)))


def _week(hours) -> dict[str, list[tuple[int, int]]]:
    week: dict[str, list[tuple[int, int]]] = {d: [] for d in _DAY_NAMES}
    for day, start, end in hours:
        week[day].append((_minutes(start), _minutes(end)))
    return {d: sorted(v) for d, v in week.items()}


def _week_events(week) -> tuple[ScheduleEvent, ...]:
    return tuple(_weekly_event(day, s, e) for day in _DAY_NAMES for s, e in week[day])


def _complement_week(week) -> dict[str, list[tuple[int, int]]]:
    out = {}
    for day, spans in week.items():
        free, cursor = [], 0
        for start, end in spans:
            if start > cursor:
                free.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < 24 * 60:
            free.append((cursor, 24 * 60))
        out[day] = free
    return out


def _horizon(today: date) -> tuple[date, date]:
    return date(today.year - 1, 1, 1), date(today.year - 1 + HOLIDAY_YEARS, 12, 31)


def _holiday_days(dates, today: date) -> dict[date, str]:
    """Every holiday day within the horizon -> the holiday's name."""
    first_day, last_day = _horizon(today)
    days: dict[date, str] = {}
    for name, start, end, yearly in dates:
        start_d, end_d = date.fromisoformat(start), date.fromisoformat(end)
        length = (end_d - start_d).days
        if yearly:
            starts = []
            for year in range(first_day.year - 1, last_day.year + 1):
                try:
                    starts.append(start_d.replace(year=year))
                except ValueError:  # 29 February in a common year: the 28th
                    starts.append(start_d.replace(year=year, day=28))
        else:
            starts = [start_d]
        for begin in starts:
            for offset in range(length + 1):
                day = begin + timedelta(days=offset)
                if first_day <= day <= last_day:
                    days.setdefault(day, name)
    return days


def _runs(days) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _day_events(runs, names: dict[date, str]) -> tuple[ScheduleEvent, ...]:
    events = []
    for start, end in runs:
        label = names.get(start, "")[: MAX_NAME - 11].strip() or "Day"
        events.append(ScheduleEvent(name=f"{label} {start.isoformat()}",
                                    start_date=start.isoformat(), end_date=end.isoformat(),
                                    all_day_enabled=True))
    return tuple(events)


def _schedule(sched: ScheduleState, today: date, *, outside: bool) -> Schedule:
    kind = KIND_TO_TYPE[sched.kind]
    name = outside_name(sched.name) if outside else sched.name
    if kind == BUSINESS_HOURS:
        week = _week(sched.hours)
        return Schedule(name=name, type=kind,
                        events=_week_events(_complement_week(week) if outside else week))
    days = _holiday_days(sched.dates, today)
    if outside:
        first_day, last_day = _horizon(today)
        span = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        free = [d for d in span if d not in days]
        return Schedule(name=name, type=kind,
                        events=_day_events(_runs(free), {d: "Not " + sched.name for d in free}))
    return Schedule(name=name, type=kind, events=_day_events(_runs(days), days))


# --- the whole state -----------------------------------------------------------------------


def _schedule_problems(state: ForwardingState, outside_used: set[str]) -> list[str]:
    problems = []
    names = {s.name for s in state.schedules}
    for sched in state.schedules:
        if sched.kind not in KIND_TO_TYPE:
            problems.append(f"Webex has no schedule of the kind '{sched.kind}'.")
        if len(sched.name) > MAX_NAME:
            problems.append(f"Webex takes schedule names of at most {MAX_NAME} characters; "
                            f"'{sched.name}' has {len(sched.name)}.")
        if sched.name.endswith(OUTSIDE_SUFFIX):
            problems.append(f"Schedule names ending in '{OUTSIDE_SUFFIX.strip()}' are kept for "
                            f"the schedules the portal derives for Webex; rename "
                            f"'{sched.name}'.")
        if sched.name in outside_used:
            derived = outside_name(sched.name)
            if len(derived) > MAX_NAME:
                problems.append(
                    f"A rule applies outside '{sched.name}': Webex needs a schedule named "
                    f"'{derived}' for it, longer than its {MAX_NAME} characters; shorten the "
                    "schedule's name to at most "
                    f"{MAX_NAME - len(OUTSIDE_SUFFIX)} characters.")
            if derived in names:
                problems.append(f"'{derived}' is the name the portal gives the complement of "
                                f"'{sched.name}' in Webex; rename one of them.")
    return problems


def compile_state(state: ForwardingState, *, today: date) -> WebexResources:
    """The Webex resources for `state` (`today`: where dated holiday events start)."""
    pieces, all_classes, problems = _pieces(state.caller_rules)
    schedules_by_name = {s.name: s for s in state.schedules}
    criteria: list[Criterion] = []
    catch_all = None
    outside_used: set[str] = set()
    for (index, cond), classes in sorted(pieces.items(), key=lambda kv: (kv[0][0],
                                                                         str(kv[0][1]))):
        rule = state.caller_rules[index]
        if _EVERYONE in classes and classes != all_classes:
            if cond is None:
                catch_all = rule.destination  # to call forwarding "always": see docstring
                continue
            listed = sorted(all_classes - classes - {_ANONYMOUS})
            problems.append(
                f"Rule {index + 1} applies to every caller "
                f"({'during' if cond[1] == 'during' else 'outside'} '{cond[0]}') except "
                f"{', '.join(listed) or 'anonymous callers'}, whom an earlier rule sends "
                "elsewhere; Webex has no 'every caller except these numbers' for a "
                "scheduled rule. Give the earlier rule the same schedule, or list this "
                "rule's callers.")
            continue
        schedule_name = schedule_type = ""
        if cond is not None:
            sched = schedules_by_name.get(cond[0])
            if sched is None or sched.kind not in KIND_TO_TYPE:
                problems.append(f"Rule {index + 1} names the schedule '{cond[0]}', which "
                                "the person does not have.")
                continue
            if cond[1] == "outside":
                outside_used.add(sched.name)
            schedule_name = sched.name if cond[1] == "during" else outside_name(sched.name)
            schedule_type = KIND_TO_TYPE[sched.kind]
        if classes == all_classes:
            criterion = Criterion(forward_to_phone_number=rule.destination,
                                  calls_from=ANY_PHONE_NUMBER)
        else:
            anonymous = _ANONYMOUS in classes
            criterion = Criterion(
                forward_to_phone_number=rule.destination, calls_from=SELECT_PHONE_NUMBERS,
                phone_numbers=tuple(sorted(classes - {_ANONYMOUS})),
                anonymous_callers_enabled=anonymous, unavailable_callers_enabled=anonymous)
        if schedule_name:
            criterion = replace(criterion, schedule_name=schedule_name,
                                schedule_type=schedule_type)
        criteria.append(criterion)
    problems += _schedule_problems(state, outside_used)

    schedules = [_schedule(s, today, outside=False) for s in state.schedules
                 if s.kind in KIND_TO_TYPE]
    schedules += [_schedule(schedules_by_name[n], today, outside=True)
                  for n in sorted(outside_used)]

    call_forwarding = state
    if catch_all is not None:
        # Every call no criterion takes goes to the catch-all rule's destination: the
        # portal's own always-forward and time window come after it and never decide.
        call_forwarding = replace(state, always_enabled=True, always_destination=catch_all,
                                  always_voicemail=False)
    selective = SelectiveForward(
        enabled=bool(criteria),
        default_phone_number_to_forward=criteria[0].forward_to_phone_number if criteria else "")

    targets = state.simring_targets if state.simring_enabled else ()
    if len(targets) > MAX_SIMRING_NUMBERS:
        problems.append(f"Webex rings at most {MAX_SIMRING_NUMBERS} numbers at the same "
                        f"time; this person has {len(targets)}.")
    confirm = set(state.simring_confirm)
    simring = SimultaneousRing(
        enabled=bool(state.simring_enabled and targets),
        do_not_ring_if_on_call_enabled=state.simring_skip_when_on_call,
        phone_numbers=tuple(SimRingNumber(t, t in confirm) for t in targets))
    dnd = DoNotDisturb(enabled=state.dnd_enabled, ring_splash_enabled=state.dnd_ring_splash)
    return WebexResources(call_forwarding=call_forwarding, selective_forward=selective,
                          criteria=tuple(criteria), simultaneous_ring=simring,
                          schedules=tuple(schedules), do_not_disturb=dnd,
                          problems=tuple(dict.fromkeys(problems)))


def inexpressible(state: ForwardingState, *, today: date | None = None) -> list[str]:
    """What of `state` Webex cannot hold exactly, one sentence each (empty: all of it)."""
    return list(compile_state(state, today=today or date.today()).problems)
