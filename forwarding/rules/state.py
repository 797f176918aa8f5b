"""The provider-neutral ForwardingState built from a person's values: the one
construction that both the push (selectors.desired_state, from a stored row) and
validation (from a proposal, to ask the provider whether it can hold it) use.

Pure: plain values in, a frozen state out; filtering by capabilities is the caller's."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

from forwarding.rules.schedule_clock import schedule_state
from providers.base import CallerRuleState, ForwardingState

# Settings that travel as they are stored; caller rules, schedules and the zone are built.
_STRUCTURED = {"caller_rules", "schedules", "time_zone"}
FLAT_STATE_FIELDS = tuple(f.name for f in dataclass_fields(ForwardingState)
                          if f.name not in _STRUCTURED)


def caller_rule_state(rule, *, scheduled: bool) -> CallerRuleState:
    """A caller rule (model row or its dict) as routing-neutral state; its schedule only
    where the provider's rules take schedules."""
    get = rule.get if isinstance(rule, dict) else lambda name, default=None: getattr(
        rule, name, default)
    schedule = (get("schedule", "") or "") if scheduled else ""
    return CallerRuleState(
        destination=get("destination", ""), callers=tuple(get("callers", ()) or ()),
        match_anonymous=bool(get("match_anonymous", False)),
        match_all=bool(get("match_all", False)),
        schedule=schedule, schedule_when=(get("schedule_when", "") or "") if schedule else "",
    )


def state_from(values: dict, *, caller_rules, zone_name: str,
               scheduled: bool = True) -> ForwardingState:
    """`values`: the flat settings (names of ForwardingSettings); `caller_rules`: rows or
    dicts in order; `zone_name`: the person's zone."""
    data = {name: values[name] for name in FLAT_STATE_FIELDS if name in values}
    for name in ("simring_targets", "simring_confirm"):
        if name in data:
            data[name] = tuple(data[name] or ())
    return ForwardingState(
        **data,
        schedules=tuple(schedule_state(s) for s in values.get("schedules") or ()),
        caller_rules=tuple(caller_rule_state(r, scheduled=scheduled)
                           for r in caller_rules or ()),
        time_zone=zone_name or "UTC",
    )
