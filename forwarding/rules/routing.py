"""Where does this call go? The one answer for the Graph bot, the MSPL compiler and the
"test my forwarding" panel.

`decide(rules, caller=..., at=..., line_state=...)` is pure: it reads plain dataclasses
and never the database, so callers can load a person's `RoutingRules` once
(`rules_for(person)`) and ask many questions of them.

Precedence: the first step that applies decides.

1. Caller rules, in their order: the first rule that lists the caller (or takes every
   caller, `match_all`) and whose schedule condition holds at that moment. Numbers
   compare in E.164 (national numbers read in the org's region), SIP URIs
   case-insensitively and without parameters; a missing or withheld caller is
   "anonymous" and matches a rule that ticks anonymous callers. A rule with a schedule
   applies only "during" it or only "outside" it, read on the wall clock of the
   person's time zone (forwarding.rules.schedule_clock; daylight saving included); a
   rule naming a schedule the person does not have, or on a provider whose rules take
   no schedule, never applies. Rule code "caller_rule:<n>", n counted from 1.
2. A time window running at that moment (start <= at < end): every call goes to the
   window's destination. Code "time_window".
3. Always-forward. Code "always".
4. The line state: "offline" -> business continuity ("continuity"), "busy" -> forward
   when busy ("busy"), "no_answer" -> forward when not answered ("no_answer"). An
   "idle" line skips this step, as does a state whose forwarding is off. Do not disturb
   makes the line behave as busy whatever its state: the own phone does not ring and
   forward-when-busy applies if it is on.
5. Simultaneous ring: the person's own line and the targets ring together, for the
   chosen timeout or the provider's default (Graph: 55 s for one target, 60 s for
   several). Code "simring". An offline line does not ring: only the targets do. Not
   while do not disturb is on; with "do not ring when on a call", not while the line is
   busy (the call then reaches the busy line: call waiting or the busy tone).
6. Nothing applies: the person's own line rings. Code "none". With the line offline
   nothing rings: no targets. With do not disturb nothing rings either: code "dnd", no
   targets (the caller gets the busy treatment: the busy tone, or voicemail where the
   provider has it).

A feature the person's provider does not support (see providers.capabilities) never
decides, even when a value for it is stored. Dispositions: "forward" (the caller is not
told), "redirect" (the caller is told, a 302), "ring" (the call rings the targets).
`timeout` is how long the targets ring, in seconds, when the portal chooses it; None
leaves it to the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError

from forwarding.models import ForwardingSettings
from forwarding.rules import schedule_clock
from forwarding.rules.validation import normalize_caller
from providers.addresses import ANONYMOUS, caller_keys, destination_key, display_destination
from providers.base import ScheduleState
from providers.capabilities import Capabilities

LINE_STATES = ("idle", "busy", "no_answer", "offline")
LINE_STATE_LABELS = {
    "idle": "free",
    "busy": "busy",
    "no_answer": "not answering",
    "offline": "offline (phone not connected)",
}


@dataclass(frozen=True)
class CallerRoute:
    """One caller rule as routing reads it: these callers go to `destination`."""

    callers: tuple[str, ...] = ()
    match_anonymous: bool = False
    destination: str = ""
    disposition: str = "forward"
    mask_caller: bool = False
    mask_callee: bool = False
    match_all: bool = False
    schedule: str = ""  # the name of one of the person's schedules; "": at all times
    schedule_when: str = ""  # "during" | "outside"


@dataclass(frozen=True)
class RoutingRules:
    """A person's forwarding as routing reads it: everything `decide` needs."""

    caps: Capabilities
    own_line: str = ""
    region: str = "US"
    always_enabled: bool = False
    always_destination: str = ""
    busy_enabled: bool = False
    busy_destination: str = ""
    no_answer_enabled: bool = False
    no_answer_destination: str = ""
    no_answer_ring_after: int | None = None
    continuity_enabled: bool = False
    continuity_destination: str = ""
    simring_enabled: bool = False
    simring_targets: tuple[str, ...] = ()
    simring_timeout: int | None = None
    simring_skip_when_on_call: bool = False
    dnd_enabled: bool = False
    window_enabled: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    window_destination: str = ""
    caller_rules: tuple[CallerRoute, ...] = ()
    schedules: tuple[ScheduleState, ...] = ()
    # The IANA zone the schedules are read in: the person's, else their org's.
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Decision:
    targets: list[str] = field(default_factory=list)
    disposition: str = "ring"  # "forward" | "redirect" | "ring"
    timeout: int | None = None
    rule: str = "none"
    explanation: str = ""
    mask_caller: bool = False
    mask_callee: bool = False


def _words(value: str) -> str:
    return display_destination(value) or "nowhere"


def _caller_words(caller, region: str) -> str:
    try:
        key = normalize_caller(caller, region=region)
    except ValidationError:
        key = str(caller).strip()
    return "Caller " + display_destination(key)


def _caller_matches(rule: CallerRoute, keys: set[str]) -> bool:
    if rule.match_all:
        return True
    if ANONYMOUS in keys:
        return rule.match_anonymous
    return any(destination_key(c) in keys for c in rule.callers)


def _schedule_holds(rules: RoutingRules, rule: CallerRoute, at: datetime) -> str | None:
    """None when `rule`'s schedule condition does not hold at `at`; else the words that
    say why it does ("" for a rule without a schedule)."""
    if not rule.schedule:
        return ""
    if not rules.caps.rules_take_schedules() or rule.schedule_when not in ("during",
                                                                            "outside"):
        return None
    schedule = schedule_clock.find(rules.schedules, rule.schedule)
    if schedule is None:
        return None
    inside = schedule_clock.is_inside(schedule, at, rules.time_zone)
    if inside != (rule.schedule_when == "during"):
        return None
    local = schedule_clock.wall_time(at, rules.time_zone)
    return (f"{'during' if inside else 'outside'} {schedule.name} "
            f"({local:%A %H:%M} in {rules.time_zone})")


def dnd_on(rules: RoutingRules) -> bool:
    return rules.caps.supports("dnd") and rules.dnd_enabled


def window_active(rules: RoutingRules, at: datetime) -> bool:
    return bool(
        rules.caps.supports("time_window")
        and rules.window_enabled
        and rules.window_destination
        and rules.window_start is not None
        and rules.window_end is not None
        and rules.window_start <= at < rules.window_end
    )


def decide(rules: RoutingRules, *, caller, at: datetime, line_state: str) -> Decision:
    """The decision for one call; see the module docstring for the precedence."""
    if line_state not in LINE_STATES:
        raise ValueError(f"unknown line state {line_state!r}; one of {LINE_STATES}")
    caps = rules.caps
    keys = caller_keys(caller, region=rules.region)

    # 1. caller rules
    if caps.supports("caller_rules"):
        decision = _by_caller_rule(rules, caller, keys, at)
        if decision is not None:
            return decision

    # 2. time window
    if window_active(rules, at):
        return Decision(
            targets=[rules.window_destination], disposition="forward", rule="time_window",
            explanation=f"The time window is running: the call goes to "
            f"{_words(rules.window_destination)}.",
        )

    # 3. always
    if caps.supports("always") and rules.always_enabled and rules.always_destination:
        return Decision(
            targets=[rules.always_destination], disposition="forward", rule="always",
            explanation=f"Always-forward is on: the call goes to "
            f"{_words(rules.always_destination)}.",
        )

    # 4. line state (do not disturb: the line behaves as busy)
    dnd = dnd_on(rules)
    decision = _by_line_state(rules, "busy" if dnd else line_state, dnd=dnd)
    if decision is not None:
        return decision
    if dnd:
        # 5 does not ring while do not disturb is on; 6: the own phone does not ring.
        return Decision(
            targets=[], disposition="ring", rule="dnd",
            explanation="Do not disturb is on and nothing forwards the call: no phone "
            "rings (the caller gets the busy treatment: the busy tone, or voicemail where "
            "the provider has it).",
        )

    # 5. simultaneous ring
    offline = line_state == "offline"
    if caps.supports("simring") and rules.simring_enabled and rules.simring_targets:
        if line_state == "busy" and rules.simring_skip_when_on_call and \
                caps.has_option("skip_when_on_call"):
            return Decision(
                targets=[rules.own_line] if rules.own_line else [], disposition="ring",
                rule="none",
                explanation="The line is busy and simultaneous ring does not ring the "
                "other numbers during a call: the call reaches the busy line (call "
                "waiting or the busy tone).",
            )
        return _simring(rules, offline=offline)

    # 6. nothing applies
    if offline:
        # An offline phone cannot ring: saying it does would hide that the call is lost.
        return Decision(
            targets=[], disposition="ring", rule="none",
            explanation="The phone is offline and nothing forwards the call: it reaches "
            "nobody (the caller hears that the line is unavailable, or voicemail where "
            "the provider has it).",
        )
    return Decision(
        targets=[rules.own_line] if rules.own_line else [], disposition="ring", rule="none",
        explanation="No forwarding applies: the call rings "
        + (_words(rules.own_line) if rules.own_line else "the person's own line") + ".",
    )


def _simring(rules: RoutingRules, *, offline: bool) -> Decision:
    """Step 5: the own line and the targets ring together; an offline line does not."""
    own = [rules.own_line] if rules.own_line and not offline else []
    ringing = own + list(rules.simring_targets)
    # The provider's default timeout counts the own line whatever its state.
    count = len(rules.simring_targets) + (1 if rules.own_line else 0)
    timeout = rules.simring_timeout or rules.caps.simring_timeout_default(count)
    return Decision(
        targets=ringing, disposition="ring", timeout=timeout, rule="simring",
        explanation=("The phone is offline, so only the other numbers ring: " if offline
                     else "Simultaneous ring: ")
        + ", ".join(_words(t) for t in ringing)
        + (" ring" if len(ringing) > 1 else " rings") + " at the same time"
        + (f" for {timeout} seconds." if timeout else "."),
    )


def _by_caller_rule(rules: RoutingRules, caller, keys: set[str],
                    at: datetime) -> Decision | None:
    """Step 1: the first caller rule that takes the caller at that moment, if any."""
    caps = rules.caps
    for position, rule in enumerate(rules.caller_rules, start=1):
        if not rule.destination or not _caller_matches(rule, keys):
            continue
        when = _schedule_holds(rules, rule, at)
        if when is None:
            continue
        if rule.match_all:
            who = f"Caller rule {position} takes every call"
            matched = f"{who}{', and it is ' + when if when else ''}"
        else:
            who = ("An anonymous caller" if ANONYMOUS in keys
                   else _caller_words(caller, rules.region))
            matched = (f"{who} matches caller rule {position}"
                       f"{', and it is ' + when if when else ''}")
        allowed = caps.dispositions or ("forward",)
        disposition = rule.disposition if rule.disposition in allowed else "forward"
        told = ("the caller is told and calls the new number" if disposition == "redirect"
                else "the caller is not told")
        return Decision(
            targets=[rule.destination],
            disposition=disposition,
            timeout=None,
            rule=f"caller_rule:{position}",
            explanation=f"{matched}: the call is "
            f"{'redirected' if disposition == 'redirect' else 'forwarded'} to "
            f"{_words(rule.destination)} ({told}).",
            mask_caller=rule.mask_caller and caps.masking,
            mask_callee=rule.mask_callee and caps.masking,
        )
    return None


# Step 4: which forwarding a line state turns to ("idle" turns to none).
_STATE_FEATURES = {"offline": "continuity", "busy": "busy", "no_answer": "no_answer"}


def _by_line_state(rules: RoutingRules, line_state: str, *,
                   dnd: bool = False) -> Decision | None:
    """Step 4: the forwarding for the line's state, when it is on and has a destination
    (`dnd`: the state is "busy" because do not disturb is on)."""
    caps = rules.caps
    feature = _STATE_FEATURES.get(line_state)
    if not (feature and caps.supports(feature) and getattr(rules, f"{feature}_enabled")
            and getattr(rules, f"{feature}_destination")):
        return None
    destination = getattr(rules, f"{feature}_destination")
    reason = {
        "continuity": "The phone is offline, so business continuity",
        "busy": ("Do not disturb is on, so the call is treated as busy and "
                 "forward-when-busy" if dnd else "The line is busy, so forward-when-busy"),
        "no_answer": "The call is not answered"
        + (f" after {rules.no_answer_ring_after} {caps.no_answer_unit}"
           if rules.no_answer_ring_after else "")
        + ", so forward-when-not-answered",
    }[feature]
    return Decision(
        targets=[destination], disposition="forward", rule=feature,
        explanation=f"{reason} sends the call to {_words(destination)}.",
    )


def rules_from(settings, *, person, caps: Capabilities | None = None) -> RoutingRules:
    """A RoutingRules from a ForwardingSettings row (or None: nothing set) and its person."""
    org = person.org
    caps = caps or org.capabilities
    base = {
        "caps": caps,
        "own_line": person.phone_number or person.extension or person.sip_uri,
        "region": org.default_region,
        "time_zone": person.zone_name or "UTC",
    }
    if settings is None:
        return RoutingRules(**base)
    names = [f for f in RoutingRules.__dataclass_fields__
             if f not in {*base, "caller_rules", "schedules"}]
    values = {name: getattr(settings, name) for name in names}
    values["simring_targets"] = tuple(values["simring_targets"] or ())
    values["schedules"] = tuple(schedule_clock.schedule_state(s)
                                for s in settings.schedules or ())
    caller_rules = tuple(
        CallerRoute(
            callers=tuple(rule.callers),
            match_anonymous=rule.match_anonymous,
            destination=rule.destination,
            disposition=rule.disposition,
            mask_caller=rule.mask_caller,
            mask_callee=rule.mask_callee,
            match_all=rule.match_all,
            schedule=rule.schedule,
            schedule_when=rule.schedule_when,
        )
        for rule in settings.caller_rules.all()
    )
    return RoutingRules(**base, **values, caller_rules=caller_rules)


def rules_for(person) -> RoutingRules:
    """Load a person's RoutingRules from the database (two queries: settings and rules)."""
    settings = (
        ForwardingSettings.objects.filter(person=person).prefetch_related("caller_rules").first()
    )
    return rules_from(settings, person=person)
