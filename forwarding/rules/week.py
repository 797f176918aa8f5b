"""The week at a glance: where one kind of call goes at each hour of the coming seven days.

`week_at_a_glance(rules, zone=..., now=...)` asks `routing.decide` about a chosen call (by
default a call from anyone while the line is free) at the start of every hour of the
seven local days that begin today, in the person's time zone. It never decides anything
itself: whatever routing evaluates (caller rules, schedules, the time window, always,
do not disturb, simultaneous ring) shows up here unchanged, so the picture and the
"test my forwarding" panel cannot disagree.

Pure: no database, no clock of its own (`now` is passed in). The page draws the result
(forwarding.pages.week_view) and lists it as text ranges ("Mon 09:00-17:00: rings the
phone").

Wall-clock hours and daylight saving: hour h of a local day is sampled at the instant the
person's clock shows h:00. On the spring-forward day the hour that does not exist (02:00
in New York) is sampled at the first instant after the gap, so it repeats 03:00; on the
fall-back day 01:00 is its first occurrence. A change inside an hour (a schedule from
08:30) shows from the next hour on; the text ranges say so in their heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from forwarding.rules.routing import Decision, RoutingRules, decide
from providers.addresses import destination_key, display_destination

DAYS = 7
HOURS = 24
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Outcome:
    """Where the sampled call goes, in short words: `label` ("Rings the phone",
    "Forwarded", ...) and `destination` (display words of the other targets, "" when only
    the person's own line rings or nobody does). Equal outcomes are one legend entry."""

    label: str
    destination: str = ""

    @property
    def text(self) -> str:
        return f"{self.label} {self.destination}".strip() if self.destination else self.label


@dataclass(frozen=True)
class Slot:
    """One sampled hour: the outcome and routing's own explanation of it."""

    hour: int
    at: datetime  # the UTC instant sampled
    outcome: Outcome
    rule: str
    explanation: str


@dataclass(frozen=True)
class Day:
    day: date
    slots: tuple[Slot, ...]

    @property
    def weekday(self) -> int:
        return self.day.weekday()

    @property
    def short_name(self) -> str:
        return WEEKDAY_SHORT[self.weekday]

    @property
    def long_name(self) -> str:
        return WEEKDAY_LONG[self.weekday]


@dataclass(frozen=True)
class Range:
    """Consecutive hours of one day with the same outcome: "Mon 09:00-17:00"."""

    day: Day
    start: int  # first hour
    end: int  # hour after the last one (24 = midnight)
    outcome: Outcome

    @property
    def text(self) -> str:
        return (f"{self.day.short_name} {self.start:02d}:00-{self.end:02d}:00: "
                f"{self.outcome.text}")


@dataclass(frozen=True)
class Week:
    zone: str
    caller: str | None
    line_state: str
    days: tuple[Day, ...]

    @property
    def outcomes(self) -> list[Outcome]:
        """Every distinct outcome, in the order it first appears (the legend)."""
        seen: list[Outcome] = []
        for day in self.days:
            for slot in day.slots:
                if slot.outcome not in seen:
                    seen.append(slot.outcome)
        return seen

    def ranges(self) -> list[Range]:
        """The week as runs of equal outcomes, day by day (the text equivalent)."""
        result = []
        for day in self.days:
            start = 0
            for hour in range(1, HOURS + 1):
                if hour == HOURS or day.slots[hour].outcome != day.slots[start].outcome:
                    result.append(Range(day, start, hour, day.slots[start].outcome))
                    start = hour
        return result

    @property
    def uniform(self) -> bool:
        return len(self.outcomes) == 1


def outcome_of(decision: Decision, *, own_line: str, line_state: str = "idle") -> Outcome:
    """Short words for a decision, whatever rule made it."""
    others = [t for t in decision.targets if t != own_line]
    where = ", ".join(display_destination(t) or t for t in others)
    if decision.disposition == "redirect" and others:
        return Outcome("Redirected to", where)
    if decision.disposition == "forward" and others:
        return Outcome("Forwarded to", where)
    own_rings = bool(own_line) and own_line in decision.targets
    if own_rings:
        return Outcome("Rings the phone and", where) if others else Outcome("Rings the phone")
    if others:
        return Outcome("Rings", where)
    if not own_line and decision.rule == "none" and line_state != "offline":
        return Outcome("Rings the phone")  # a person known by no address still has a line
    return Outcome("Reaches nobody")


def anyone(rules: RoutingRules) -> str:
    """A caller no caller rule lists and that is not the person's own line: "a call from
    anyone". Fictional numbers (555-01xx), so no real person is meant; not an anonymous
    caller, which rules may list on purpose."""
    listed = {destination_key(c) for rule in rules.caller_rules for c in rule.callers}
    listed.add(destination_key(rules.own_line or ""))
    for n in range(199, 99, -1):
        candidate = f"+1202555{n:04d}"
        if destination_key(candidate) not in listed:
            return candidate
    return "+12025550100"  # a person listing all hundred is asking for that answer


def local_hour(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the clock in `zone` shows `hour`:00 on `day`. fold=0
    (PEP 495): an hour that happens twice counts its first occurrence, and an hour in the
    spring-forward gap is read with the offset from before the gap, which lands on the
    first instant after it (02:00 in New York on 8 March 2026 is 03:00 EDT)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def week_at_a_glance(rules: RoutingRules, *, zone: ZoneInfo, now: datetime,
                     caller: str | None = None, line_state: str = "idle",
                     days: int = DAYS) -> Week:
    """Sample `decide` at the start of every local hour of `days` days from today (in
    `zone`); `caller` None is a call from anyone (no caller rule lists them)."""
    asked = caller if caller is not None else anyone(rules)
    today = now.astimezone(zone).date()
    result = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        slots = []
        for hour in range(HOURS):
            at = local_hour(day, hour, zone)
            decision = decide(rules, caller=asked, at=at, line_state=line_state)
            slots.append(Slot(hour=hour, at=at, outcome=outcome_of(
                decision, own_line=rules.own_line, line_state=line_state), rule=decision.rule,
                explanation=decision.explanation))
        result.append(Day(day=day, slots=tuple(slots)))
    return Week(zone=zone.key, caller=caller, line_state=line_state, days=tuple(result))
