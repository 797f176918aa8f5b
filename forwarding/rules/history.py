"""History and audit log in people's words (reads only).

Every event shows its label from `portal.audit.Event`. A delivery outcome (`push.*`) is
folded into the change it delivered ("Delivered to Webex Calling at 10:42", "Not
delivered: <reason>") instead of being a row of its own, unless somebody filters for it;
technical ids (correlation, tracking id, attempt) go to a "Details" list that pages show
behind a disclosure. Times are shown in the zone the page passes, by default the viewer's
(portal.middleware.TimeZoneMiddleware activates it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from forwarding.rules import selectors
from forwarding.rules.services import RESTORABLE_EVENTS
from portal import audit
from portal.models import AuditEvent
from portal.timezones import shown

OUTCOME_EVENTS = (audit.Event.PUSH_SUCCEEDED.value, audit.Event.PUSH_RETRYING.value,
                  audit.Event.PUSH_FAILED.value)
CHANGE_EVENTS = RESTORABLE_EVENTS  # the events whose `new` is a saved version
# Keys of `data` that are ids or measurements: behind the "Details" disclosure.
_TECHNICAL = {"tracking_id": "Tracking id", "attempt": "Attempt", "status": "HTTP status",
              "duration_ms": "Duration (ms)", "requests": "Requests sent",
              "attempts": "Attempts so far", "retry_in_s": "Next try in (s)"}


# --- moments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A timestamp as pages show it: `text` for people, `iso` for <time datetime>."""

    text: str
    iso: str
    clock: str


def moment(value: datetime, zone=None) -> Moment:
    """`value` read in `zone`, else in the viewer's (the active zone)."""
    local = timezone.localtime(value, zone)
    return Moment(text=shown(value, zone), iso=value.isoformat(), clock=f"{local:%H:%M}")


# --- rows ----------------------------------------------------------------------------------


@dataclass
class Row:
    event: AuditEvent
    label: str
    when: Moment
    changes: list[str] = field(default_factory=list)
    summary: str = ""
    delivery: dict | None = None  # {"state": "ok" | "retrying" | "failed", "text": ...}
    details: list[tuple[str, str]] = field(default_factory=list)
    restorable: bool = False


def visible_events(events, *, event=None):
    """The events a list shows: without the delivery outcomes (folded into their change),
    unless the filter asks for one kind of event."""
    return events if event else events.exclude(event__in=OUTCOME_EVENTS)


def _version(event) -> int | None:
    new = event.new if isinstance(event.new, dict) else {}
    version = new.get("version")
    return version if isinstance(version, int) else None


def outcomes_for(events) -> dict[tuple[int, int], AuditEvent]:
    """The latest delivery outcome of each (person, version) changed by `events`."""
    keys = {(e.person_id, _version(e)) for e in events
            if e.person_id and e.event in CHANGE_EVENTS and _version(e) is not None}
    if not keys:
        return {}
    found = AuditEvent.objects.filter(
        person_id__in={p for p, _v in keys}, event__in=OUTCOME_EVENTS,
        data__version__in=sorted({v for _p, v in keys}),
    ).order_by("created_at", "id")
    latest = {}
    for outcome in found:
        key = (outcome.person_id, outcome.data.get("version"))
        if key in keys:
            latest[key] = outcome
    return latest


def delivery_words(outcome, *, caps, zone) -> dict:
    """"Delivered to Webex Calling at 10:42", "Not delivered: <reason>", or a retry."""
    data = outcome.data or {}
    reason = data.get("error") or "the provider gave no reason"
    if outcome.event == audit.Event.PUSH_SUCCEEDED:
        at = moment(outcome.created_at, zone)
        return {"state": "ok", "text": f"Delivered to {caps.label} at {at.clock}"}
    if outcome.event == audit.Event.PUSH_FAILED:
        return {"state": "failed", "text": f"Not delivered to {caps.label}: {reason}"}
    return {"state": "retrying", "text": f"Not delivered yet, will be retried: {reason}"}


def _details(event, outcome=None) -> list[tuple[str, str]]:
    details = [("Correlation id", event.correlation_id)]
    for source in (event, outcome):
        if source is None:
            continue
        data = source.data or {}
        for key, label in _TECHNICAL.items():
            if data.get(key) not in (None, ""):
                details.append((label, str(data[key])))
    if event.ip:
        details.append(("From address", event.ip))
    return details


def _summary(event, *, caps, zone) -> str:
    data = event.data if isinstance(event.data, dict) else {}
    if data.get("note"):
        return data["note"]
    if event.event in OUTCOME_EVENTS and caps is not None:
        version = data.get("version")
        words = delivery_words(event, caps=caps, zone=zone)
        return f"Version {version}: {words['text']}" if version else words["text"]
    if data.get("restored_version"):
        return f"Restored version {data['restored_version']}."
    if isinstance(event.new, dict) and event.event not in CHANGE_EVENTS:
        return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in event.new.items())
    return ""


def rows_for(events, *, caps, zone=None, name=None, use_person_label=False,
             restorable=None) -> list[Row]:
    """Readable rows for a page of events. Descriptions say "you" unless `name` is given
    or `use_person_label` asks for each event's person; `restorable(event)` says whether
    a row offers Restore."""
    events = list(events)
    outcomes = outcomes_for(events)
    rows = []
    for event in events:
        outcome = outcomes.get((event.person_id, _version(event)))
        row = Row(event=event, label=audit.event_label(event.event),
                  when=moment(event.created_at, zone),
                  summary=_summary(event, caps=caps, zone=zone),
                  details=_details(event, outcome))
        if event.event in CHANGE_EVENTS and isinstance(event.old, dict) and \
                isinstance(event.new, dict) and caps is not None:
            row.changes = selectors.describe_changes(
                event.old, event.new, caps=caps,
                name=(event.person_label or None) if use_person_label else name,
            )
        if outcome is not None and caps is not None:
            row.delivery = delivery_words(outcome, caps=caps, zone=zone)
        if restorable is not None:
            row.restorable = restorable(event)
        rows.append(row)
    return rows
