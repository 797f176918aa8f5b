"""Checks on forwarding settings before anything is stored.

- Destinations: numbers become E.164 with `phonenumbers` (national numbers read in the
  org's default region), internal extensions stay digits, `tel:` URIs become E.164,
  `sip:` URIs keep their user part and get a lower-case scheme and host. At most 80
  characters (UCWA's limit) and no control or invisible formatting characters.
- Capabilities: a setting the person's provider does not support is refused with the
  matrix's reason, whatever the client sent; limits come from the matrix too.
- Self and loops: a destination equal to the person's own line is refused, and so is a
  forwarding loop inside the org through always-forward, an active or future time window
  or caller rules. The message names the cycle.

Every error is keyed by the field that caused it (model field names, and
"caller_rules-<i>-<field>" for caller rules), so forms can show it next to that field.
Only the functions at the bottom touch the database (to load the org's other people).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.core.exceptions import ValidationError

from providers.capabilities import (
    DESTINATION_LIMIT_SOURCE,
    DESTINATION_MAX_LENGTH,
    FEATURE_LABELS,
    Capabilities,
)

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
    "window_enabled": "time_window",
    "window_start": "time_window",
    "window_end": "time_window",
    "window_destination": "time_window",
}
EDITABLE_FIELDS = tuple(FIELD_FEATURES)

# Field -> option of the capability matrix it needs (besides its feature).
FIELD_OPTIONS = {
    "always_ring_reminder": "ring_reminder",
    "always_voicemail": "voicemail",
    "busy_voicemail": "voicemail",
    "no_answer_voicemail": "voicemail",
    "continuity_voicemail": "voicemail",
}

BOOL_FIELDS = {f for f in EDITABLE_FIELDS if f.endswith(("_enabled", "_reminder", "_voicemail"))}
INT_FIELDS = {"no_answer_ring_after", "simring_timeout"}
DATETIME_FIELDS = {"window_start", "window_end"}
DESTINATION_FIELDS = {
    "always_destination", "busy_destination", "no_answer_destination",
    "continuity_destination", "window_destination",
}
LIST_FIELDS = {"simring_targets"}

DEFAULTS = {
    **{f: False for f in BOOL_FIELDS},
    **{f: None for f in INT_FIELDS | DATETIME_FIELDS},
    **{f: "" for f in DESTINATION_FIELDS},
    "simring_targets": [],
}

RULE_FIELDS = (
    "callers", "match_anonymous", "destination", "disposition", "mask_caller", "mask_callee",
)
# Not a provider limit: a bound that keeps pages, manifests and call-time decisions small.
MAX_CALLER_RULES = 50
MAX_CALLERS_PER_RULE = 100

ANONYMOUS = "anonymous"
# RFC 3323's anonymous URI and the words phones put in From for a withheld number.
_ANONYMOUS_FORMS = {"anonymous", "sip:anonymous@anonymous.invalid", "restricted", "private",
                    "unavailable", "unknown", "withheld"}

_EXTENSION_RE = re.compile(r"^\d{2,10}$")
_NUMBER_CHARS_RE = re.compile(r"^\+?[\d\s().\-/]+$")
_SEPARATORS_RE = re.compile(r"[\s().\-/]")
_SIP_RE = re.compile(
    r"^(?P<scheme>sips?):(?P<user>[^@\s;:<>\"]+)@(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])"
    r"(?P<port>:\d{1,5})?(?P<params>;[^\s<>\"]*)?$",
    re.IGNORECASE,
)


# --- destinations ----------------------------------------------------------------------


def _check_characters(value: str) -> None:
    for ch in value:
        # Cc: control characters (newline, NUL ...); Cf: invisible formatting such as
        # right-to-left overrides, which would make a destination read differently.
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValidationError(
                "This contains an invisible control character. Type the destination again.",
                code="control_character",
            )


def _check_length(value: str) -> None:
    if len(value) > DESTINATION_MAX_LENGTH:
        raise ValidationError(
            f"Use at most {DESTINATION_MAX_LENGTH} characters ({DESTINATION_LIMIT_SOURCE}'s "
            f"limit); this one has {len(value)}.",
            code="too_long",
        )


def _parse_number(value: str, region: str, *, strict: bool):
    """E.164 of `value`, or None when it is not a number. `strict` asks for a number that
    exists in the numbering plan; otherwise one that could exist is enough."""
    compact = _SEPARATORS_RE.sub("", value)
    try:
        number = phonenumbers.parse(compact, None if compact.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(
        number
    )
    if not ok:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalize_sip(value: str) -> str:
    match = _SIP_RE.match(value)
    if not match:
        raise ValidationError(
            "This is not a SIP address we can use. Write it like sip:name@example.com.",
            code="bad_sip",
        )
    scheme = match["scheme"].lower()
    host = match["host"].lower()
    return f"{scheme}:{match['user']}@{host}{match['port'] or ''}{match['params'] or ''}"


def normalize_destination(value, *, region: str) -> str:
    """The stored form of a destination typed by a person; "" for an empty one.

    Raises ValidationError with a message a person can act on."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Enter the destination as text.", code="invalid")
    _check_characters(value)
    value = value.strip()
    if not value:
        return ""
    _check_length(value)
    lower = value.lower()
    if lower.startswith(("sip:", "sips:")):
        result = _normalize_sip(value)
    elif lower.startswith("tel:"):
        # RFC 3966: the number, then optional ;parameters we do not need.
        number = _parse_number(value[4:].split(";", 1)[0], region, strict=True)
        if number is None:
            raise ValidationError(
                f"This tel: URI does not hold a valid phone number (read in region {region}).",
                code="bad_number",
            )
        result = number
    elif "@" in value:
        raise ValidationError(
            f"This looks like an address. Write it as a SIP URI: sip:{value}", code="bad_sip"
        )
    elif _NUMBER_CHARS_RE.match(value):
        result = _parse_number(value, region, strict=True)
        if result is None:
            compact = _SEPARATORS_RE.sub("", value)
            if _EXTENSION_RE.match(compact):
                result = compact  # an internal extension
            else:
                raise ValidationError(
                    f"This is not a valid phone number for region {region}. Use +country "
                    "code and number, a national number, or an extension of 2 to 10 digits.",
                    code="bad_number",
                )
    else:
        raise ValidationError(
            "Enter a phone number, an extension, or a tel: or sip: URI.", code="invalid"
        )
    _check_length(result)
    return result


def normalize_caller(value: str, *, region: str) -> str:
    """The matching form of a caller: E.164, an extension, a lower-case SIP URI without
    parameters, or "anonymous". Lenient on numbers (a number that could exist is enough:
    callers are not dialled)."""
    if value is None:
        return ANONYMOUS
    _check_characters(value)
    value = value.strip()
    if not value or value.lower() in _ANONYMOUS_FORMS:
        return ANONYMOUS
    _check_length(value)
    lower = value.lower()
    if lower.startswith(("sip:", "sips:")):
        sip = _normalize_sip(value).split(";", 1)[0]
        return sip.replace("sips:", "sip:", 1).lower()
    if lower.startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    if "@" in value:
        raise ValidationError(f"Write an address as a SIP URI: sip:{value}", code="bad_sip")
    if not _NUMBER_CHARS_RE.match(value):
        raise ValidationError(
            "Enter a phone number, an extension, a sip: URI or the word anonymous.",
            code="invalid",
        )
    number = _parse_number(value, region, strict=False)
    if number is not None:
        return number
    compact = _SEPARATORS_RE.sub("", value)
    if _EXTENSION_RE.match(compact):
        return compact
    raise ValidationError(f"This is not a phone number for region {region}.", code="bad_number")


def caller_keys(caller, *, region: str) -> set[str]:
    """Every form under which a caller on an incoming call can match a rule: its E.164
    number, its SIP URI, and the number inside a `sip:+1...@host;user=phone` URI."""
    try:
        key = normalize_caller(caller, region=region)
    except ValidationError:
        return {str(caller).strip().lower()}
    keys = {key}
    if key.startswith("sip:"):
        user = key[4:].split("@", 1)[0]
        number = _parse_number(user, region, strict=False) if user.startswith("+") else None
        if number:
            keys.add(number)
    return keys


def line_keys(person, *, region: str) -> set[str]:
    """Normalised forms of every address that reaches `person`."""
    keys = set()
    for line in person.lines():
        try:
            keys.add(normalize_caller(line, region=region))
        except ValidationError:
            keys.add(line.strip().lower())
    keys.discard(ANONYMOUS)
    return keys


def destination_key(destination: str) -> str:
    """The comparable form of a stored destination (SIP URIs compare case-insensitively
    and without parameters)."""
    if destination.lower().startswith(("sip:", "sips:")):
        return destination.split(";", 1)[0].replace("sips:", "sip:", 1).lower()
    return destination


def display_destination(value: str) -> str:
    """A stored destination in the form people read: "+1 202 555 0100"."""
    if not value:
        return ""
    if value.startswith("+"):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ).replace("-", " ")
    if value.isdigit():
        return f"extension {value}"
    return value


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


def _unsupported_message(caps: Capabilities, feature: str) -> str:
    return f"{FEATURE_LABELS[feature]} is not available: {caps.reason(feature)}"


def validate_proposal(*, subject: Subject, current: dict, changes: dict,
                      caller_rules: list | None, now: datetime):
    """Check `changes` (and the new caller rules, when given) against `current`.

    Returns (changed values, normalised caller rules or None when unchanged). Raises one
    ValidationError holding every problem, keyed by field."""
    caps = subject.caps
    errors = Errors()
    proposed = {}

    for field, raw in changes.items():
        if field not in FIELD_FEATURES:
            errors.add(field, "This is not a forwarding setting that can be changed.")
            continue
        try:
            value = _coerce(field, raw)
            if field in DESTINATION_FIELDS:
                value = normalize_destination(value, region=subject.region)
        except ValidationError as exc:
            errors.add(field, exc)
            continue
        proposed[field] = value

    # Unsupported features and options: refused unless the value is the harmless default.
    for field, value in list(proposed.items()):
        feature = FIELD_FEATURES[field]
        if value == DEFAULTS[field]:
            continue
        if not caps.supports(feature):
            errors.add(field, _unsupported_message(caps, feature))
            del proposed[field]
        elif field in FIELD_OPTIONS and value and not caps.has_option(FIELD_OPTIONS[field]):
            errors.add(field, caps.option_reason(FIELD_OPTIONS[field]))
            del proposed[field]

    if "simring_targets" in proposed:
        targets = []
        for i, raw in enumerate(proposed["simring_targets"], start=1):
            try:
                targets.append(normalize_destination(raw, region=subject.region))
            except ValidationError as exc:
                errors.add("simring_targets", f"Line {i} ({raw.strip()[:40]}): "
                           + " ".join(exc.messages))
        proposed["simring_targets"] = [t for t in targets if t]

    changed = {f: v for f, v in proposed.items() if current.get(f) != v}
    merged = {**current, **changed}
    touched = {FIELD_FEATURES[f] for f in changed}

    for feature in ("always", "busy", "no_answer", "continuity"):
        if feature not in touched or not caps.supports(feature):
            continue
        dest_field = f"{feature}_destination"
        if merged[f"{feature}_enabled"] and not merged[dest_field] and dest_field not in errors:
            errors.add(dest_field, "Enter where the calls should go, or turn this off.")
        if dest_field in changed and merged[dest_field]:
            _check_not_self(errors, dest_field, merged[dest_field], subject)

    if "no_answer" in touched and caps.supports("no_answer"):
        _check_no_answer(errors, merged, changed, subject)
    if "simring" in touched and caps.supports("simring"):
        _check_simring(errors, merged, subject)
    if "time_window" in touched and caps.supports("time_window"):
        _check_window(errors, merged, changed, subject, now)

    rules = None
    if caller_rules is not None:
        rules = _check_caller_rules(errors, caller_rules, subject)
        if rules is not None and rules == current.get("caller_rules", []):
            rules = None

    errors.raise_if_any()
    if {"always", "time_window"} & touched or rules is not None:
        loops = find_loops(subject=subject, merged=merged, rules=rules,
                           stored_rules=current.get("caller_rules", []), now=now)
        for key, messages in loops.items():
            for message in messages:
                errors.add(key, message)
        errors.raise_if_any()
    return changed, rules


def _check_not_self(errors, key, destination, subject):
    if destination_key(destination) in subject.own_keys:
        errors.add(key, f"This is {subject.owner_words}: calls would come straight back.")


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


def _check_simring(errors, merged, subject):
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
        _check_not_self(errors, "window_destination", destination, subject)


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError("Choose yes or no.", code="invalid")


def _check_caller_rules(errors, caller_rules, subject):
    caps = subject.caps
    if not isinstance(caller_rules, list | tuple):
        errors.add("caller_rules", "Send the caller rules as a list.")
        return None
    if caller_rules and not caps.supports("caller_rules"):
        errors.add("caller_rules", _unsupported_message(caps, "caller_rules"))
        return None
    if len(caller_rules) > MAX_CALLER_RULES:
        errors.add("caller_rules", f"At most {MAX_CALLER_RULES} caller rules.")
        return None
    result = []
    allowed_dispositions = caps.dispositions or ("forward",)
    for i, rule in enumerate(caller_rules):
        key = f"caller_rules-{i}-"
        if not isinstance(rule, dict):
            errors.add("caller_rules", f"Rule {i + 1} is not a rule.")
            continue
        unknown = set(rule) - set(RULE_FIELDS) - {"position", "id"}
        for name in sorted(unknown):
            errors.add(key + name, "This is not a caller rule setting.")

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
            anonymous = _as_bool(rule.get("match_anonymous", False))
        except ValidationError as exc:
            errors.add(key + "match_anonymous", exc)
        if ANONYMOUS in callers:  # typed as a word: the same as ticking the box
            callers.remove(ANONYMOUS)
            anonymous = True
        for message in bad:
            errors.add(key + "callers", message)
        if not bad and not callers and not anonymous:
            errors.add(key + "callers", "List at least one caller, or tick anonymous callers.")
        if len(callers) > MAX_CALLERS_PER_RULE:
            errors.add(key + "callers", f"At most {MAX_CALLERS_PER_RULE} callers per rule.")

        destination = ""
        try:
            destination = normalize_destination(rule.get("destination"),
                                                region=subject.region)
        except ValidationError as exc:
            errors.add(key + "destination", exc)
        else:
            if not destination:
                errors.add(key + "destination", "Enter where these callers' calls go.")
            else:
                _check_not_self(errors, key + "destination", destination, subject)

        disposition = rule.get("disposition") or "forward"
        if disposition not in ("forward", "redirect"):
            errors.add(key + "disposition", "Choose forward or redirect.")
        elif disposition not in allowed_dispositions:
            errors.add(key + "disposition", caps.option_reason("disposition"))

        masks = {}
        for name in ("mask_caller", "mask_callee"):
            try:
                masks[name] = _as_bool(rule.get(name, False))
            except ValidationError as exc:
                errors.add(key + name, exc)
                masks[name] = False
            if masks[name] and not caps.masking:
                errors.add(key + name, caps.option_reason("masking"))
        result.append({
            "callers": callers,
            "match_anonymous": anonymous,
            "destination": destination,
            "disposition": disposition,
            "mask_caller": masks["mask_caller"],
            "mask_callee": masks["mask_callee"],
        })
    return result


# --- loops inside the org (reads the database) -------------------------------------------


def org_line_index(org, *, region):
    """Destination key -> person id, for every line of every person in `org`."""
    from portal.models import Person

    index = {}
    for person in Person.objects.filter(org=org).only(
        "id", "display_name", "phone_number", "extension", "sip_uri"
    ):
        for key in line_keys(person, region=region):
            index.setdefault(key, person)
    return index


def _stored_edges(org, *, exclude_person_id, now):
    """Person id -> destinations their stored settings send every (or some) call to:
    always-forward, a time window that is running or yet to come, caller rules."""
    from .models import ForwardingSettings

    edges = {}
    rows = (
        ForwardingSettings.objects.filter(person__org=org)
        .exclude(person_id=exclude_person_id)
        .prefetch_related("caller_rules")
    )
    for row in rows:
        targets = []
        if row.always_enabled and row.always_destination:
            targets.append(row.always_destination)
        if row.window_enabled and row.window_destination and row.window_end and \
                row.window_end > now:
            targets.append(row.window_destination)
        targets.extend(rule.destination for rule in row.caller_rules.all())
        if targets:
            edges[row.person_id] = targets
    return edges


def find_loops(*, subject: Subject, merged: dict, rules: list | None, stored_rules: list,
               now: datetime) -> dict:
    """Errors keyed by field for each of this person's destinations that leads, through
    other people's forwarding, back to this person."""
    person = subject.person
    caps = subject.caps
    own_edges = []  # (error key, destination)
    if caps.supports("always") and merged.get("always_enabled") and merged.get(
            "always_destination"):
        own_edges.append(("always_destination", merged["always_destination"]))
    if caps.supports("time_window") and merged.get("window_enabled") and merged.get(
            "window_destination") and merged.get("window_end") and merged["window_end"] > now:
        own_edges.append(("window_destination", merged["window_destination"]))
    if caps.supports("caller_rules"):
        for i, rule in enumerate(rules if rules is not None else stored_rules):
            if rule["destination"]:
                own_edges.append((f"caller_rules-{i}-destination", rule["destination"]))
    if not own_edges:
        return {}

    index = org_line_index(person.org, region=subject.region)
    stored = _stored_edges(person.org, exclude_person_id=person.id, now=now)
    names = {p.id: p.display_name for p in index.values()}
    names[person.id] = person.display_name

    def next_people(person_id):
        for destination in stored.get(person_id, ()):
            target = index.get(destination_key(destination))
            if target is not None:
                yield target.id

    errors = {}
    for key, destination in own_edges:
        first = index.get(destination_key(destination))
        if first is None or first.id == person.id:
            continue
        path = _path_back(first.id, person.id, next_people)
        if path is not None:
            cycle = [person.id, *path]
            words = " → ".join(names.get(pid, f"person {pid}") for pid in cycle)
            errors.setdefault(key, []).append(
                f"This would make a forwarding loop: {words}. Calls would go round and "
                "never ring anyone."
            )
    return errors


def _path_back(start_id, goal_id, next_people):
    """Breadth-first: the shortest chain of people from `start_id` to `goal_id`."""
    parents = {start_id: None}
    queue = [start_id]
    while queue:
        current = queue.pop(0)
        if current == goal_id:
            chain = []
            while current is not None:
                chain.append(current)
                current = parents[current]
            return list(reversed(chain))
        for nxt in next_people(current):
            if nxt not in parents:
                parents[nxt] = current
                queue.append(nxt)
    return None
