"""What a change would do, in the words of the pages, before anybody confirms it: the
"before -> after" lines of a restore or an undo, and the label people see for each
settings field (row reasons of bulk jobs say "Forward when busy: destination", never
`busy_destination`). Reads only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from forwarding.rules import permissions, policy_checks, selectors, services, validation
from forwarding.rules.validation import FIELD_FEATURES
from providers.capabilities import FEATURE_LABELS

# The part of a feature a field is, as the person page names it.
_FIELD_WORDS = {
    "enabled": "",  # the feature itself: "Forward when busy"
    "destination": "destination",
    "ring_reminder": "ring reminder",
    "voicemail": "voicemail",
    "ring_after": "forward after",
    "targets": "numbers to ring",
    "timeout": "ring for",
    "start": "from",
    "end": "until",
    "confirm": "numbers whose answerer presses a key",
    "skip_when_on_call": "not while on a call",
    "ring_splash": "ring splash",
    "schedules": "",  # the feature itself
}
_OTHER_LABELS = {
    "version": "Version",
    "caller_rules": FEATURE_LABELS["caller_rules"],
    "person": "Person",
    "job": "Job",
}


def field_label(name: str) -> str:
    """"busy_destination" -> "Forward when busy: destination"; "" for errors of the whole
    row (non_field_errors, __all__); an unknown name is given back as it is."""
    if name in ("non_field_errors", "__all__", ""):
        return ""
    feature = FIELD_FEATURES.get(name)
    if feature is None:
        return _OTHER_LABELS.get(name, name)
    prefix = {"time_window": "window", "no_answer": "no_answer"}.get(feature, feature)
    part = name[len(prefix) + 1:] if name.startswith(prefix + "_") else name
    word = _FIELD_WORDS.get(part, part.replace("_", " "))
    return f"{FEATURE_LABELS[feature]}: {word}" if word else FEATURE_LABELS[feature]


def reasons(errors: dict | None) -> list[str]:
    """A row's {field: [messages]} as sentences that name the field the way pages do."""
    out = []
    for name, messages in (errors or {}).items():
        label = field_label(name)
        out.extend(f"{label}: {message}" if label else message for message in messages)
    return out


def describe_diff(old: dict, new: dict, *, caps, name=None) -> list[dict]:
    """[{"label", "before", "after"}] for each feature whose plain-words sentence would
    change from `old` to `new` (snapshots or values dicts)."""
    before = {d["feature"]: d for d in selectors.describe(old, caps=caps, name=name)}
    out = []
    for item in selectors.describe(new, caps=caps, name=name):
        previous = before.get(item["feature"])
        if previous is None or previous["text"] != item["text"]:
            out.append({"label": item["label"], "after": item["text"],
                        "before": previous["text"] if previous else "Not set."})
    return out


def current_snapshot(person) -> dict:
    """The person's stored settings as a snapshot (everything off when none yet)."""
    return services.snapshot(selectors.stored_settings(person))


def restore_preview(person, snap: dict, *, now=None, locked=frozenset()) -> dict:
    """What restoring `snap` (an event's settings) would change now: {"lines",
    "window_skipped", "current_version", "warnings", "errors", "locked"}, as
    forwarding_restore would do it. `warnings`: the loops through busy, no answer or
    offline forwarding the old version makes with today's settings of the others (the
    restore needs them confirmed); `errors`: why the restore would be refused now
    (sentences); `locked`: the features the viewer may not change (a member's locked
    features) that the old version has otherwise, as sentences saying who to ask: the
    restore leaves them as they are."""
    now = now or timezone.now()
    caps = selectors.caps_for(person)
    stored = selectors.stored_settings(person)
    current = services.snapshot(stored)
    changes, rules, skipped = services.restore_changes(snap, caps=caps, now=now,
                                                       locked=locked)
    after = {**current, **{name: snap[name] for name in changes}}
    if rules is not None:
        after["caller_rules"] = rules
    warnings: dict = {}
    errors: dict = {}
    try:
        validation.validate_proposal(
            subject=services.subject_for(person, caps, policy_checks.check_for(person)),
            current=services.values(stored),
            changes=changes, caller_rules=rules, now=now, warnings=warnings)
    except ValidationError as exc:
        errors = (exc.message_dict if hasattr(exc, "error_dict")
                  else {"non_field_errors": exc.messages})
    return {"lines": describe_diff(current, after, caps=caps, name=person.display_name),
            "window_skipped": skipped, "current_version": current["version"],
            "warnings": reasons(warnings), "errors": reasons(errors),
            "locked": _locked_left(person, snap, current, caps, locked)}


def _locked_left(person, snap, current, caps, locked) -> list[str]:
    """Sentences for the locked features whose old values differ from today's."""
    differ = []
    for feature in locked:
        if not caps.supports(feature):
            continue
        names = ["caller_rules"] if feature == "caller_rules" else \
            [n for n, f in FIELD_FEATURES.items() if f == feature]
        if any(name in snap and snap[name] != current.get(name) for name in names):
            differ.append(feature)
    if not differ:
        return []
    admin = permissions.admin_to_ask(person.org)
    return [permissions.refusal(person.org, feature, admin=admin)
            for feature in sorted(differ, key=list(FEATURE_LABELS).index)]
