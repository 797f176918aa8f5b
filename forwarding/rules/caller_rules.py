"""Checks of a person's caller rules ("calls from these callers go there", "every call
outside Office hours goes there"): each rule normalised, its problems keyed
"caller_rules-<i>-<field>" so a form shows them next to the field; the list as a whole
refused where the provider has no caller rules. A rule's schedule is checked against the
person's schedules after the change (forwarding.rules.schedules)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from forwarding.rules.destinations import (
    as_bool,
    check_not_self,
    normalize_caller,
    normalize_destination,
    unsupported_message,
)
from forwarding.rules.schedules import check_rule_schedule
from providers.addresses import ANONYMOUS

RULE_FIELDS = (
    "callers", "match_anonymous", "destination", "disposition", "mask_caller", "mask_callee",
    "match_all", "schedule", "schedule_when",
)
# Not a provider limit: a bound that keeps pages, manifests and call-time decisions small.
MAX_CALLER_RULES = 50
MAX_CALLERS_PER_RULE = 100


def check_caller_rules(errors, caller_rules, subject, schedules=()):
    """The caller rules normalised, or None when the list as a whole is refused.
    `schedules`: the person's schedules as they will be stored (the rules may name them)."""
    caps = subject.caps
    if not isinstance(caller_rules, list | tuple):
        errors.add("caller_rules", "Send the caller rules as a list.")
        return None
    if caller_rules and not caps.supports("caller_rules"):
        errors.add("caller_rules", unsupported_message(caps, "caller_rules"))
        return None
    if len(caller_rules) > MAX_CALLER_RULES:
        errors.add("caller_rules", f"At most {MAX_CALLER_RULES} caller rules.")
        return None
    result = []
    for i, rule in enumerate(caller_rules):
        if not isinstance(rule, dict):
            errors.add("caller_rules", f"Rule {i + 1} is not a rule.")
            continue
        result.append(_check_rule(errors, f"caller_rules-{i}-", rule, subject, schedules))
    return result


def _check_rule(errors, key, rule, subject, schedules) -> dict:
    """One caller rule normalised; its problems are keyed "caller_rules-<i>-<field>"."""
    caps = subject.caps
    unknown = set(rule) - set(RULE_FIELDS) - {"position", "id"}
    for name in sorted(unknown):
        errors.add(key + name, "This is not a caller rule setting.")

    match_all = False
    try:
        match_all = as_bool(rule.get("match_all", False))
    except ValidationError as exc:
        errors.add(key + "match_all", exc)
    if match_all:
        callers, anonymous = [], False
        listed = [c for c in _as_lines(rule.get("callers")) if str(c).strip()]
        if listed or rule.get("match_anonymous") is True:
            errors.add(key + "callers", "This rule is for every caller: leave the callers "
                       "empty and anonymous unticked, or untick every caller.")
    else:
        callers, anonymous = _rule_callers(errors, key, rule, subject)
    schedule, when = check_rule_schedule(errors, key, rule, schedules, caps)

    destination = ""
    try:
        destination = normalize_destination(rule.get("destination"), region=subject.region,
                                            caps=caps)
    except ValidationError as exc:
        errors.add(key + "destination", exc)
    else:
        if not destination:
            errors.add(key + "destination", "Enter where these callers' calls go.")
        else:
            check_not_self(errors, key + "destination", destination, subject)

    disposition = rule.get("disposition") or "forward"
    if disposition not in ("forward", "redirect"):
        errors.add(key + "disposition", "Choose forward or redirect.")
    elif disposition not in (caps.dispositions or ("forward",)):
        errors.add(key + "disposition", caps.option_reason("disposition"))

    masks = {}
    for name in ("mask_caller", "mask_callee"):
        try:
            masks[name] = as_bool(rule.get(name, False))
        except ValidationError as exc:
            errors.add(key + name, exc)
            masks[name] = False
        if masks[name] and not caps.masking:
            errors.add(key + name, caps.option_reason("masking"))
    return {
        "callers": callers,
        "match_anonymous": anonymous,
        "destination": destination,
        "disposition": disposition,
        "mask_caller": masks["mask_caller"],
        "mask_callee": masks["mask_callee"],
        "match_all": match_all,
        "schedule": schedule,
        "schedule_when": when,
    }


def _as_lines(raw) -> list:
    if isinstance(raw, str):
        return raw.splitlines()
    return list(raw) if isinstance(raw, list | tuple) else []


def _rule_callers(errors, key, rule, subject) -> tuple[list[str], bool]:
    """(the rule's callers normalised, without repeats; whether it matches anonymous
    callers)."""
    raw_callers = rule.get("callers") or []
    if isinstance(raw_callers, str):
        raw_callers = raw_callers.splitlines()
    callers, bad = [], []
    for raw in raw_callers:
        if not isinstance(raw, str) or not raw.strip():
            continue
        try:
            caller = normalize_caller(raw, region=subject.region)
        except ValidationError as exc:
            bad.append(f"{raw.strip()[:40]}: {' '.join(exc.messages)}")
            continue
        if caller not in callers:
            callers.append(caller)
    anonymous = False
    try:
        anonymous = as_bool(rule.get("match_anonymous", False))
    except ValidationError as exc:
        errors.add(key + "match_anonymous", exc)
    if ANONYMOUS in callers:  # typed as a word: the same as ticking the box
        callers.remove(ANONYMOUS)
        anonymous = True
    for message in bad:
        errors.add(key + "callers", message)
    if not bad and not callers and not anonymous:
        errors.add(key + "callers", "List at least one caller, tick anonymous callers, or "
                   "make the rule apply to every caller.")
    if len(callers) > MAX_CALLERS_PER_RULE:
        errors.add(key + "callers", f"At most {MAX_CALLERS_PER_RULE} callers per rule.")
    return callers, anonymous
