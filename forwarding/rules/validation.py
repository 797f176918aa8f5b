"""Checks on forwarding settings before anything is stored.

- Destinations: numbers become E.164 with `phonenumbers` (national numbers read in the
  org's default region), internal extensions stay digits, `tel:` URIs become E.164,
  `sip:` URIs keep their user part and get a lower-case scheme and host. No control or
  invisible formatting characters; at most the person's provider's length
  (`Capabilities.destination_max_length`: UCWA's documented 80 characters, counting the
  tel: it puts before a number; the portal's own bound elsewhere), with the refusal naming
  that provider.
- Capabilities: a setting the person's provider does not support is refused with the
  matrix's reason, whatever the client sent; limits come from the matrix too.
- Emergency numbers are never a destination, in any feature (providers.addresses
  .emergency_number: the org's region's and the common ones).
- Self and loops: a destination equal to the person's own line is refused, and so is a
  forwarding loop inside the org through always-forward, an active or future time window
  or caller rules. The message names the cycle. A loop that also goes through busy, no
  answer or offline forwarding is a warning (LoopWarning) until confirmed.

- Destination policy (forwarding.rules.policy, through the Subject's PolicyCheck): each
  destination the proposal brings in is refused with the policy's reason, keyed by its
  field; see policy_checks.check_destinations for which count as brought in.

- Schedules (business hours, holidays; forwarding.rules.schedules): names unique, hours
  and dates well formed; a caller rule may name only a schedule the person has, and a
  schedule a rule uses cannot be removed. Simultaneous-ring numbers to confirm are some
  of the numbers that ring.

Every error is keyed by the field that caused it (model field names,
"caller_rules-<i>-<field>" for caller rules, "schedules-<i>-<field>" for a schedule's
parts), so forms can show it next to that field. Destinations as form errors live in
forwarding.rules.destinations, caller rules in forwarding.rules.caller_rules, schedules
in forwarding.rules.schedules. Only the loop check touches the database
(forwarding.rules.loops.find_loops): it looks up the people behind this person's
destinations and walks on from them (LineIndex), one query per step, so an edit costs the
same in an org of ten people or of ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError

from forwarding.rules.caller_rules import MAX_CALLER_RULES as MAX_CALLER_RULES
from forwarding.rules.caller_rules import MAX_CALLERS_PER_RULE as MAX_CALLERS_PER_RULE
from forwarding.rules.caller_rules import RULE_FIELDS as RULE_FIELDS
from forwarding.rules.caller_rules import check_caller_rules
from forwarding.rules.destinations import check_not_self, unsupported_message
from forwarding.rules.destinations import line_keys as line_keys
from forwarding.rules.destinations import normalize_caller as normalize_caller
from forwarding.rules.destinations import normalize_destination as normalize_destination
from forwarding.rules.directory import CONDITIONS, LineIndex
from forwarding.rules.loops import find_loops
from forwarding.rules.policy_checks import check_destinations
from forwarding.rules.schedules import check_schedules, used_schedules_removed
from forwarding.rules.state import state_from
from providers.addresses import destination_key, display_destination
from providers.capabilities import Capabilities
from providers.registry import get_provider

# --- the settings vocabulary -----------------------------------------------------------

# Field -> the feature it belongs to. Same names as ForwardingSettings and ForwardingState.
FIELD_FEATURES = {
    "always_enabled": "always",
    "always_destination": "always",
    "always_ring_reminder": "always",
    "always_voicemail": "always",
    "busy_enabled": "busy",
    "busy_destination": "busy",
    "busy_voicemail": "busy",
    "no_answer_enabled": "no_answer",
    "no_answer_destination": "no_answer",
    "no_answer_ring_after": "no_answer",
    "no_answer_voicemail": "no_answer",
    "continuity_enabled": "continuity",
    "continuity_destination": "continuity",
    "continuity_voicemail": "continuity",
    "simring_enabled": "simring",
    "simring_targets": "simring",
    "simring_timeout": "simring",
    "simring_confirm": "simring",
    "simring_skip_when_on_call": "simring",
    "window_enabled": "time_window",
    "window_start": "time_window",
    "window_end": "time_window",
    "window_destination": "time_window",
    "dnd_enabled": "dnd",
    "dnd_ring_splash": "dnd",
    "schedules": "schedules",
}
EDITABLE_FIELDS = tuple(FIELD_FEATURES)

# Field -> option of the capability matrix it needs (besides its feature).
FIELD_OPTIONS = {
    "always_ring_reminder": "ring_reminder",
    "always_voicemail": "voicemail",
    "busy_voicemail": "voicemail",
    "no_answer_voicemail": "voicemail",
    "continuity_voicemail": "voicemail",
    "simring_confirm": "answer_confirmation",
    "simring_skip_when_on_call": "skip_when_on_call",
    "dnd_ring_splash": "ring_splash",
}

BOOL_FIELDS = {f for f in EDITABLE_FIELDS if f.endswith(("_enabled", "_reminder", "_voicemail"))}
BOOL_FIELDS |= {"simring_skip_when_on_call", "dnd_ring_splash"}
INT_FIELDS = {"no_answer_ring_after", "simring_timeout"}
DATETIME_FIELDS = {"window_start", "window_end"}
DESTINATION_FIELDS = {
    "always_destination", "busy_destination", "no_answer_destination",
    "continuity_destination", "window_destination",
}
LIST_FIELDS = {"simring_targets", "simring_confirm"}
# Structured values, checked as a whole (forwarding.rules.schedules); edited through the
# pages and the API, not CSV columns.
STRUCTURED_FIELDS = {"schedules"}

DEFAULTS = {
    **{f: False for f in BOOL_FIELDS},
    **{f: None for f in INT_FIELDS | DATETIME_FIELDS},
    **{f: "" for f in DESTINATION_FIELDS},
    "simring_targets": [],
    "simring_confirm": [],
    "schedules": [],
}
assert set(DEFAULTS) == set(EDITABLE_FIELDS)


# --- type checks of a changes dict ---------------------------------------------------------


def _coerce(field: str, value):
    """Check the type of one value of a changes dict (forms parse; API clients may not)."""
    if field in BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValidationError("Choose yes or no.", code="invalid")
        return value
    if field in INT_FIELDS:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Enter a whole number.", code="invalid")
        return value
    if field in DATETIME_FIELDS:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError("Enter a date and time.", code="invalid") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError("Enter a date and time with its time zone.", code="invalid")
        return value
    if field in STRUCTURED_FIELDS:
        return [] if value is None else value
    if field in LIST_FIELDS:
        if value is None:
            return []
        if isinstance(value, str):
            value = [line for line in value.splitlines()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValidationError("Enter a list of destinations.", code="invalid")
        return [v for v in value if v.strip()]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Enter text.", code="invalid")
    return value


# --- the whole proposal ------------------------------------------------------------------


@dataclass
class Subject:
    """What validation needs to know about the person whose settings change."""

    person: object
    caps: Capabilities
    region: str
    own_keys: set
    owner_words: str  # "your own line" or "Mia Member's own line"
    # The org's destination policy for this write (forwarding.rules.policy_checks
    # .PolicyCheck); None: no policy to apply.
    policy: object = None


class Errors:
    def __init__(self):
        self.by_key: dict[str, list] = {}

    def add(self, key, error):
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        self.by_key.setdefault(key, []).extend(messages)

    def __contains__(self, key):
        return key in self.by_key

    def raise_if_any(self):
        if self.by_key:
            raise ValidationError(self.by_key)


def validate_proposal(*, subject: Subject, current: dict, changes: dict,
                      caller_rules: list | None, now: datetime,
                      line_index: LineIndex | None = None, confirm_loops: bool = False,
                      warnings: dict | None = None):
    """Check `changes` (and the new caller rules, when given) against `current`.

    Returns (changed values, normalised caller rules or None when unchanged). Raises one
    ValidationError holding every problem, keyed by field, and LoopWarning (also a
    ValidationError) for loops through busy, no answer or offline forwarding unless
    `confirm_loops`. `warnings`: a dict that receives those warnings instead of raising
    (a dry run shows them). `line_index`: a LineIndex of the person's org shared by many
    calls (a bulk job); by default each call looks up only what its loop check needs."""
    caps = subject.caps
    errors = Errors()
    proposed = _parse_changes(errors, changes, subject)
    _drop_unsupported(errors, proposed, caps)
    for name in ("simring_targets", "simring_confirm"):
        if name in proposed:
            proposed[name] = _normalize_targets(errors, proposed[name], subject, key=name)

    changed = {f: v for f, v in proposed.items() if current.get(f, DEFAULTS[f]) != v}
    merged = {**DEFAULTS, **current, **changed}
    touched = {FIELD_FEATURES[f] for f in changed}
    _check_features(errors, merged, changed, touched, subject, now)

    # The rules may name only schedules the person will have (none where the provider
    # has no schedules).
    schedules = merged["schedules"] if caps.supports("schedules") else []
    rules = None
    if caller_rules is not None:
        rules = check_caller_rules(errors, caller_rules, subject, schedules)
        if rules is not None and rules == current.get("caller_rules", []):
            rules = None
    if "schedules" in changed and rules is None and "schedules" not in errors:
        for message in used_schedules_removed(schedules, current.get("caller_rules", [])):
            errors.add("schedules", message)

    errors.raise_if_any()
    check_destinations(errors, subject, current=current, merged=merged, changed=changed,
                       rules=rules, destination_fields=DESTINATION_FIELDS)
    errors.raise_if_any()
    # What the provider can hold depends on the rules, the schedules and simultaneous
    # ring only: an edit that changes none of them (most bulk rows) skips the compile.
    if rules is not None or {"schedules", "simring"} & touched:
        _check_provider_holds(errors, subject, merged,
                              rules if rules is not None else current.get("caller_rules", []))
        errors.raise_if_any()
    # The loop check reads the database: only for a proposal that is valid otherwise and
    # that changes where every (or some) call goes.
    warn_for = touched | ({"caller_rules"} if rules is not None else set())
    if {"always", "time_window", *CONDITIONS} & touched or rules is not None:
        _check_loops(errors, subject=subject, merged=merged, rules=rules, current=current,
                     now=now, index=line_index, warn_for=warn_for,
                     confirm_loops=confirm_loops, warnings=warnings)
    return changed, rules


def _check_provider_holds(errors, subject, merged, rules) -> None:
    """Refuse what the person's provider cannot hold exactly (Webex: rule shapes its
    unordered criteria cannot express), so the portal never stores a wish that the
    provider would carry out differently from what the page and the simulator say."""
    provider = get_provider(subject.caps.kind)
    if provider is None:
        return  # decided at call time or compiled by the portal: routing is the provider
    state = state_from(merged, caller_rules=rules, zone_name=subject.person.zone_name,
                       scheduled=subject.caps.rules_take_schedules())
    for problem in provider.inexpressible(state):
        errors.add("caller_rules", problem)


class LoopWarning(ValidationError):
    """Loops that only busy, no answer or offline forwarding make: refused until the
    person confirms (`confirm_loops`). Messages keyed by field, as any ValidationError, so
    a caller that does not offer a confirmation shows them as errors."""

    code = "loop_warning"


def _check_loops(errors, *, subject, merged, rules, current, now, index, warn_for,
                 confirm_loops, warnings) -> None:
    findings = find_loops(subject=subject, merged=merged, rules=rules,
                          stored_rules=current.get("caller_rules", []), now=now,
                          index=index, warn_for=warn_for)
    for key, messages in findings.errors.items():
        for message in messages:
            errors.add(key, message)
    errors.raise_if_any()
    if warnings is not None:
        for key, messages in findings.warnings.items():
            warnings.setdefault(key, []).extend(messages)
    elif findings.warnings and not confirm_loops:
        raise LoopWarning(findings.warnings)


def proposed_values(errors, changes, subject) -> dict:
    """The values of `changes` as they would be stored: types checked, destinations and
    the simultaneous-ring lists normalised; bad values become errors and are left out.
    For the member permissions (forwarding.rules.permissions), which compare a locked
    feature's posted values with the stored ones; validate_proposal takes the same steps
    with the unsupported features dropped in between."""
    proposed = _parse_changes(errors, changes, subject)
    for name in LIST_FIELDS & set(proposed):
        proposed[name] = _normalize_targets(errors, proposed[name], subject, key=name)
    return proposed


def _parse_changes(errors, changes, subject) -> dict:
    """The values of `changes` checked for their type, destinations normalised; unknown
    fields and bad values become errors and are left out."""
    proposed = {}
    for field, raw in changes.items():
        if field not in FIELD_FEATURES:
            errors.add(field, "This is not a forwarding setting that can be changed.")
            continue
        try:
            value = _coerce(field, raw)
            if field == "schedules":
                value = check_schedules(errors, value)
                if value is None:
                    continue
            if field in DESTINATION_FIELDS:
                value = normalize_destination(value, region=subject.region,
                                              caps=subject.caps)
        except ValidationError as exc:
            errors.add(field, exc)
            continue
        proposed[field] = value
    return proposed


def _drop_unsupported(errors, proposed, caps) -> None:
    """Unsupported features and options: refused unless the value is the harmless
    default."""
    for field, value in list(proposed.items()):
        feature = FIELD_FEATURES[field]
        if value == DEFAULTS[field]:
            continue
        if not caps.supports(feature):
            errors.add(field, unsupported_message(caps, feature))
            del proposed[field]
        elif field in FIELD_OPTIONS and value and not caps.has_option(FIELD_OPTIONS[field]):
            errors.add(field, caps.option_reason(FIELD_OPTIONS[field]))
            del proposed[field]


def _normalize_targets(errors, raw_targets, subject, *, key="simring_targets") -> list[str]:
    """The simultaneous ring targets (or those to confirm) normalised; a bad one is an
    error naming its line."""
    targets = []
    for i, raw in enumerate(raw_targets, start=1):
        try:
            targets.append(normalize_destination(raw, region=subject.region,
                                                 caps=subject.caps))
        except ValidationError as exc:
            errors.add(key, f"Line {i} ({raw.strip()[:40]}): " + " ".join(exc.messages))
    return [t for t in targets if t]


def _check_features(errors, merged, changed, touched, subject, now) -> None:
    """The checks of each feature the proposal touches, on the merged values."""
    caps = subject.caps
    for feature in ("always", "busy", "no_answer", "continuity"):
        if feature not in touched or not caps.supports(feature):
            continue
        dest_field = f"{feature}_destination"
        if merged[f"{feature}_enabled"] and not merged[dest_field] and dest_field not in errors:
            errors.add(dest_field, "Enter where the calls should go, or turn this off.")
        if dest_field in changed and merged[dest_field]:
            check_not_self(errors, dest_field, merged[dest_field], subject)

    if "no_answer" in touched and caps.supports("no_answer"):
        _check_no_answer(errors, merged, changed, subject)
    if "simring" in touched and caps.supports("simring"):
        _check_simring(errors, merged, changed, subject)
    if "time_window" in touched and caps.supports("time_window"):
        _check_window(errors, merged, changed, subject, now)


def _check_no_answer(errors, merged, changed, subject):
    caps = subject.caps
    low, high = caps.no_answer_bounds(getattr(subject.person, "provider_data", None) or {})
    value = merged["no_answer_ring_after"]
    if value is None:
        if merged["no_answer_enabled"]:
            # The provider's default applies; store it so pages and pushes agree.
            changed["no_answer_ring_after"] = caps.no_answer_default
            merged["no_answer_ring_after"] = caps.no_answer_default
        return
    if not low <= value <= high:
        errors.add(
            "no_answer_ring_after",
            f"Choose between {low} and {high} {caps.no_answer_unit} ({caps.label}).",
        )


def _check_simring(errors, merged, changed, subject):
    caps = subject.caps
    targets = merged["simring_targets"]
    if "simring_targets" not in errors:
        if len(targets) > caps.simring_max_targets:
            errors.add(
                "simring_targets",
                f"{caps.label} rings at most {caps.simring_max_targets} "
                f"target{'s' if caps.simring_max_targets != 1 else ''} at once; "
                f"you listed {len(targets)}.",
            )
        keys = [destination_key(t) for t in targets]
        duplicates = sorted({display_destination(t) for t, k in zip(targets, keys, strict=True)
                             if keys.count(k) > 1})
        if duplicates:
            errors.add("simring_targets", "Listed twice: " + ", ".join(duplicates) + ".")
        own = [t for t, k in zip(targets, keys, strict=True) if k in subject.own_keys]
        if own:
            errors.add("simring_targets",
                       f"{display_destination(own[0])} is {subject.owner_words}, which rings "
                       "anyway. Remove it from the list.")
        if merged["simring_enabled"] and not targets:
            errors.add("simring_targets", "List at least one number to ring, or turn this off.")
    if "simring_targets" not in errors and "simring_confirm" not in errors:
        _check_confirm(errors, merged, changed, targets)
    timeout = merged["simring_timeout"]
    if timeout is not None:
        if caps.simring_timeout_min is None:
            errors.add("simring_timeout",
                       f"{caps.label} does not let you choose how long the lines ring.")
        elif not caps.simring_timeout_min <= timeout <= caps.simring_timeout_max:
            errors.add(
                "simring_timeout",
                f"Choose between {caps.simring_timeout_min} and {caps.simring_timeout_max} "
                f"seconds ({caps.label}).",
            )


def _check_confirm(errors, merged, changed, targets):
    """The numbers whose answerer must confirm: some of the numbers that ring, each once;
    stored as the list of targets writes them."""
    by_key = {destination_key(t): t for t in targets}
    confirm, strangers = [], []
    for value in merged["simring_confirm"]:
        target = by_key.get(destination_key(value))
        if target is None:
            strangers.append(display_destination(value))
        elif target not in confirm:
            confirm.append(target)
    if strangers:
        errors.add("simring_confirm", ", ".join(strangers)
                   + (" is not one of the numbers" if len(strangers) == 1
                      else " are not among the numbers")
                   + " that ring at the same time; add it there or remove it here.")
    if confirm != merged["simring_confirm"]:
        merged["simring_confirm"] = changed["simring_confirm"] = confirm


def _check_window(errors, merged, changed, subject, now):
    if not merged["window_enabled"]:
        return
    start, end = merged["window_start"], merged["window_end"]
    if start is None and "window_start" not in errors:
        errors.add("window_start", "Enter when the time window starts.")
    if end is None and "window_end" not in errors:
        errors.add("window_end", "Enter when the time window ends.")
    if start is not None and end is not None:
        if end <= start:
            errors.add("window_end", "The end must be after the start.")
        elif end <= now and ({"window_start", "window_end", "window_enabled"} & set(changed)):
            errors.add("window_end", "This time is already over. Choose an end in the future.")
    destination = merged["window_destination"]
    if not destination:
        if "window_destination" not in errors:
            errors.add("window_destination", "Enter where calls go during the time window.")
    elif "window_destination" in changed:
        check_not_self(errors, "window_destination", destination, subject)


