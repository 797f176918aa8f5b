"""Reads of forwarding data: the effective state to push, audit history and the
plain-words description of a person's settings that pages and emails show."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime

from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules.state import state_from
from forwarding.rules.validation import DEFAULTS, FIELD_FEATURES, FIELD_OPTIONS
from portal.models import AuditEvent
from portal.timezones import shown
from providers.addresses import display_destination
from providers.base import ForwardingState
from providers.capabilities import FEATURE_LABELS

# The settings that travel as they are stored (the caller rules, rows of their own, and
# the time zone, the person's, are added by desired_state).
_STATE_FIELDS = [f.name for f in dataclass_fields(ForwardingState) if f.name in FIELD_FEATURES]


def caps_for_org(org):
    return org.capabilities


def caps_for(person):
    return caps_for_org(person.org)


def display(destination: str) -> str:
    return display_destination(destination)


def window_running(settings, now) -> bool:
    return bool(
        settings.window_enabled
        and settings.window_destination
        and settings.window_start is not None
        and settings.window_end is not None
        and settings.window_start <= now < settings.window_end
    )


def desired_state(settings, *, now=None) -> ForwardingState:
    """What the provider should have now: the stored settings, except that while a time
    window runs every call goes to the window's destination. The stored settings are not
    touched, so they apply again by themselves when the window ends. Features (and
    options) the provider does not support are sent as off; schedules and caller rules as
    the neutral ScheduleState and CallerRuleState, with the person's time zone."""
    now = now or timezone.now()
    person = settings.person
    caps = caps_for(person)
    data = {}
    for name in _STATE_FIELDS:
        value = getattr(settings, name)
        option = FIELD_OPTIONS.get(name)
        if not caps.supports(FIELD_FEATURES[name]) or (option and not caps.has_option(option)):
            value = DEFAULTS[name]
        data[name] = value
    if caps.supports("time_window") and window_running(settings, now):
        data["always_enabled"] = True
        data["always_destination"] = settings.window_destination
        # The window's destination is not the always-forward one: its voicemail choice
        # does not carry over.
        data["always_voicemail"] = False
    rules = (settings.caller_rules.all()
             if caps.supports("caller_rules") and settings.pk is not None else ())
    return state_from(data, caller_rules=rules, zone_name=person.zone_name,
                      scheduled=caps.rules_take_schedules())


# --- audit history -------------------------------------------------------------------------


def stored_settings(person):
    """The person's settings row with its caller rules, or an unsaved one with everything
    off: a read never creates a row (pages and API alike)."""
    settings = (
        ForwardingSettings.objects.filter(person=person).prefetch_related("caller_rules").first()
    )
    if settings is None:
        settings = ForwardingSettings(person=person)
    settings.person = person
    return settings


def filter_events(events, *, event=None, since=None, until=None):
    """Audit events narrowed by kind and time, newest first (every audit list)."""
    if event:
        events = events.filter(event=event)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-id")


def person_events(person, *, event=None, since=None, until=None):
    """A person's audit events, newest first."""
    return filter_events(AuditEvent.objects.filter(person=person), event=event, since=since,
                     until=until)


def org_events(org, *, event=None, since=None, until=None):
    """An org's audit events, newest first (with the person, for links)."""
    events = AuditEvent.objects.filter(org=org)
    return filter_events(events, event=event, since=since, until=until)


def event_codes(queryset):
    return list(queryset.order_by().values_list("event", flat=True).distinct())


# --- plain words ---------------------------------------------------------------------------


def when(value, zone=None) -> str:
    """A datetime (or ISO string) the way people read it, in `zone`, else in the active
    one (a page's viewer's; an email activates its reader's)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return shown(value, zone)


class Who:
    """Grammar for "you" or a named person."""

    def __init__(self, name=None):
        if name:
            self.subject, self.be, self.do, self.possessive = name, "is", "does", f"{name}'s"
        else:
            self.subject, self.be, self.do, self.possessive = "you", "are", "do", "your"


def _vm(enabled):
    return " (to its voicemail, if it has one)" if enabled else ""


def describe(values: dict, *, caps, name=None, now=None) -> list[dict]:
    """One plain sentence per supported feature, for a snapshot or values dict.

    [{"feature": "busy", "label": "Forward when busy", "on": True,
      "text": "Calls go to +1 202 555 0100 when you are busy."}, ...]"""
    who = Who(name)
    now = now or timezone.now()
    out = []
    for feature, sentence in _SENTENCES:
        if caps.supports(feature):
            on, text = sentence(values, caps, who, now)
            out.append({"feature": feature, "label": FEATURE_LABELS[feature], "on": on,
                        "text": text})
    return out


# Each feature's sentence: (values, caps, who, now) -> (on, text).


def _always_sentence(v, caps, who, now):
    if not v.get("always_enabled"):
        return False, "Calls are not forwarded all the time."
    reminder = (f", with a short ring reminder on {who.possessive} phone"
                if v.get("always_ring_reminder") and caps.ring_reminder else "")
    return True, (f"All calls go to {display_destination(v.get('always_destination') or '')}"
                  f"{_vm(v.get('always_voicemail') and caps.voicemail)}{reminder}.")


def _busy_sentence(v, caps, who, now):
    if not v.get("busy_enabled"):
        return False, f"When {who.subject} {who.be} busy, calls are not forwarded."
    return True, (f"Calls go to {display_destination(v.get('busy_destination') or '')} when "
                  f"{who.subject} {who.be} busy{_vm(v.get('busy_voicemail') and caps.voicemail)}.")


def _no_answer_sentence(v, caps, who, now):
    if not v.get("no_answer_enabled"):
        return False, "Unanswered calls are not forwarded."
    after = v.get("no_answer_ring_after") or caps.no_answer_default
    unit = caps.no_answer_unit or ""
    destination = display_destination(v.get("no_answer_destination") or "")
    return True, (f"Calls go to {destination} when {who.subject} {who.do} not answer within "
                  f"{after} {unit}{_vm(v.get('no_answer_voicemail') and caps.voicemail)}.")


def _continuity_sentence(v, caps, who, now):
    if not v.get("continuity_enabled"):
        return False, f"When {who.possessive} phone is offline, calls are not forwarded."
    destination = display_destination(v.get("continuity_destination") or "")
    return True, (f"Calls go to {destination} when {who.possessive} phone is offline"
                  f"{_vm(v.get('continuity_voicemail') and caps.voicemail)}.")


def _simring_sentence(v, caps, who, now):
    targets = v.get("simring_targets") or []
    if not (v.get("simring_enabled") and targets):
        return False, f"Only {who.possessive} own line rings."
    timeout = v.get("simring_timeout") or caps.simring_timeout_default(len(targets) + 1)
    text = (f"Calls ring {who.possessive} line and "
            + ", ".join(display_destination(t) for t in targets)
            + " at the same time" + (f", for {timeout} seconds." if timeout else "."))
    confirm = v.get("simring_confirm") or []
    if confirm and caps.answer_confirmation:
        text += (" Whoever answers at " + ", ".join(display_destination(t) for t in confirm)
                 + " presses a key to take the call.")
    if v.get("simring_skip_when_on_call") and caps.skip_when_on_call:
        text += (f" The other numbers do not ring while {who.subject} {who.be} on a "
                 "call.")
    return True, text


def _caller_rules_sentence(v, caps, who, now):
    rules = v.get("caller_rules") or []
    if not rules:
        return False, "No rules per caller."
    return True, " ".join(_rule_words(i, rule, who) for i, rule in enumerate(rules, start=1))


def _rule_words(i, rule, who):
    callers = [display_destination(c) for c in rule.get("callers", [])]
    if rule.get("match_anonymous"):
        callers.append("anonymous callers")
    calls = "all calls" if rule.get("match_all") else f"calls from {', '.join(callers)}"
    if rule.get("schedule") and rule.get("schedule_when") in ("during", "outside"):
        calls += f" {rule['schedule_when']} {rule['schedule']}"
    verb = "redirected" if rule.get("disposition") == "redirect" else "forwarded"
    told = ("the caller is told" if verb == "redirected" else "the caller is not told")
    masks = []
    if rule.get("mask_caller"):
        masks.append("hiding the caller's number")
    if rule.get("mask_callee"):
        masks.append(f"hiding {who.possessive} number")
    return (
        f"Rule {i}: {calls} are {verb} to "
        f"{display_destination(rule.get('destination', ''))} ({told}"
        + (", " + " and ".join(masks) if masks else "") + ")."
    )


def _window_sentence(v, caps, who, now):
    if not (v.get("window_enabled") and v.get("window_start") and v.get("window_end")):
        return False, "No time window."
    start, end = v["window_start"], v["window_end"]
    if isinstance(start, str):
        start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if end <= now:
        status = "This time window is over; the other settings apply."
    elif start <= now:
        status = "It is running now."
    else:
        status = "It has not started yet."
    destination = display_destination(v.get("window_destination") or "")
    return True, (f"From {when(start)} until {when(end)}, all calls go to {destination}; "
                  "afterwards the other settings apply again. " + status)


def _dnd_sentence(v, caps, who, now):
    if not v.get("dnd_enabled"):
        return False, "Do not disturb is off."
    splash = (" (only a short ring on the phone)"
              if v.get("dnd_ring_splash") and caps.ring_splash else "")
    return True, (f"Do not disturb is on: {who.possessive} phone does not ring{splash} and "
                  "calls are treated as busy.")


_DAY_WORDS = {"monday": "Monday", "tuesday": "Tuesday", "wednesday": "Wednesday",
              "thursday": "Thursday", "friday": "Friday", "saturday": "Saturday",
              "sunday": "Sunday"}


def schedule_words(schedule: dict) -> str:
    """One schedule in words: "Office hours: Monday to Friday 09:00-17:00", "Public
    holidays: Christmas (25 Dec 2026 to 26 Dec 2026, every year)"."""
    name = schedule.get("name", "")
    if schedule.get("kind") == "holidays":
        parts = []
        for d in schedule.get("dates") or []:
            first, last = d.get("start", ""), d.get("end") or d.get("start", "")
            span = _day_words(first) if first == last else \
                f"{_day_words(first)} to {_day_words(last)}"
            parts.append(f"{d.get('name', '')} ({span}{', every year' if d.get('yearly') else ''})")
        return f"{name}: " + ("; ".join(parts) or "no dates")
    hours = schedule.get("hours") or {}
    groups = []  # [first day, last day, intervals]
    for day in _DAY_WORDS:
        intervals = hours.get(day) or []
        if groups and intervals and groups[-1][2] == intervals and \
                list(_DAY_WORDS).index(groups[-1][1]) == list(_DAY_WORDS).index(day) - 1:
            groups[-1][1] = day
        elif intervals:
            groups.append([day, day, intervals])
    parts = []
    for first, last, intervals in groups:
        days = _DAY_WORDS[first] if first == last else \
            f"{_DAY_WORDS[first]} to {_DAY_WORDS[last]}"
        parts.append(days + " " + ", ".join(f"{s}-{e}" for s, e in intervals))
    return f"{name}: " + ("; ".join(parts) or "no hours")


def _day_words(value: str) -> str:
    try:
        return f"{datetime.fromisoformat(value):%d %b %Y}".lstrip("0")
    except ValueError:
        return value


def _schedules_sentence(v, caps, who, now):
    schedules = v.get("schedules") or []
    if not schedules:
        return False, "No schedules."
    return True, ". ".join(schedule_words(s) for s in schedules) + "."


# In the order pages and emails list them.
_SENTENCES = (
    ("always", _always_sentence),
    ("busy", _busy_sentence),
    ("no_answer", _no_answer_sentence),
    ("continuity", _continuity_sentence),
    ("simring", _simring_sentence),
    ("caller_rules", _caller_rules_sentence),
    ("time_window", _window_sentence),
    ("schedules", _schedules_sentence),
    ("dnd", _dnd_sentence),
)


def describe_changes(old: dict, new: dict, *, caps, name=None) -> list[str]:
    """"Label: before → now" lines for the features whose description changed."""
    before = {d["feature"]: d for d in describe(old, caps=caps, name=name)}
    after = describe(new, caps=caps, name=name)
    lines = []
    for item in after:
        previous = before.get(item["feature"])
        if previous is None or previous["text"] != item["text"]:
            lines.append(f"{item['label']}: {item['text']} (before: "
                         f"{previous['text'] if previous else 'not set'})")
    return lines


def sync_view(settings, caps) -> dict:
    """The sync state for a badge: css class, label and the sentences under it."""
    if settings is None:
        return {"css": "not_pushed", "label": "Nothing set yet", "details": []}
    status = settings.sync_status
    if caps.delivery != "push":
        words = "Applied at call time" if caps.delivery == "call_time" else "In the manifest"
        return {"css": SyncStatus.NOT_PUSHED, "label": words, "details": []}
    details = []
    if status == SyncStatus.PENDING and settings.synced_version >= settings.version \
            and settings.last_attempt_at is None:
        return {"css": "not_pushed", "label": "Not changed in the portal yet", "details": []}
    if settings.last_synced_at:
        details.append(f"Last delivered to {caps.label}: {when(settings.last_synced_at)}.")
    if settings.version > settings.synced_version:
        details.append(f"Version {settings.version} is waiting to be delivered "
                       f"({caps.label} has version {settings.synced_version}).")
    if settings.last_error and status == SyncStatus.WAITING:
        # Not an error of this change: the sentence says what it waits for.
        details.append(f"{settings.last_error} Nothing is lost: it is sent once the "
                       "connection works again.")
    elif settings.last_error:
        details.append(f"Last error: {settings.last_error}")
    if settings.next_attempt_at and status in (SyncStatus.RETRYING, SyncStatus.PENDING):
        if settings.next_attempt_at > timezone.now():
            details.append(f"Next attempt: {when(settings.next_attempt_at)}.")
        else:
            details.append("Next attempt: as soon as a worker is free.")
    return {"css": status, "label": settings.get_sync_status_display(), "details": details}


def short_summary(settings, caps) -> str:
    """A few words for a row of the people list: what is on, and where it goes."""
    if settings is None:
        return "No forwarding"
    parts = []
    if caps.supports("time_window") and window_running(settings, timezone.now()):
        parts.append(f"Time window to {display_destination(settings.window_destination)}")
    if caps.supports("always") and settings.always_enabled:
        parts.append(f"Always to {display_destination(settings.always_destination)}")
    for feature, words in (("busy", "when busy"), ("no_answer", "when not answered"),
                           ("continuity", "when offline")):
        if caps.supports(feature) and getattr(settings, f"{feature}_enabled"):
            destination = display_destination(getattr(settings, f"{feature}_destination"))
            parts.append(f"{words.capitalize()} to {destination}")
    if caps.supports("simring") and settings.simring_enabled and settings.simring_targets:
        count = len(settings.simring_targets)
        parts.append(f"Rings {count} more number{'s' if count != 1 else ''}")
    if caps.supports("dnd") and settings.dnd_enabled:
        parts.insert(0, "Do not disturb")
    return "; ".join(parts) or "No forwarding"
