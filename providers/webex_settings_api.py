"""Webex Calling person settings beyond call forwarding: the HTTP calls.

Each function reads or writes one resource of `providers.webex_settings` for one
person, through `providers.http` (timeout, User-Agent, errors -> ProviderError), with
`?orgId=` when a partner acts for a customer (`Connection.acting_org_id`), as
`providers.webex` does for call forwarding.  `base_url` is Webex's `.../v1`.

Writes that create things (criteria, schedules) are made safe to retry after a crash
by the reconciliation helpers: they read what Webex holds and match desired items by
content (criteria) or by name and type (schedules) before creating anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from .base import Connection
from .capabilities import WEBEX
from .http import error_message, json_or_empty, send
from .webex_settings import (
    Criterion,
    DoNotDisturb,
    Schedule,
    ScheduleEvent,
    SelectiveForward,
    SimultaneousRing,
)
from .webex_wire import error_detail

LABEL = WEBEX.label

_WORDS = {
    400: f"{LABEL} refused the settings",
    401: f"{LABEL} refused the portal's credentials; an admin must reconnect the organization",
    403: f"{LABEL} refused: the portal may not change this person's settings "
         "(check the token's scope or the partner's access to this org)",
    404: f"{LABEL} does not know this person or this {{what}} (was it removed in {LABEL}?)",
    405: f"{LABEL} does not offer this for the person",
    409: f"{LABEL} refused the change as conflicting with the person's other settings",
    423: f"{LABEL} has this person's settings locked for now",
    429: f"{LABEL} asked the portal to slow down",
}


def _describer(what: str):
    def describe(response):
        detail = error_detail(response)
        words = _WORDS.get(response.status_code)
        if words:
            words = words.replace("{what}", what)
        return error_message(LABEL, response.status_code, words, detail), None
    return describe


def _call(conn: Connection, method: str, path: str, *, what: str, json=None, params=None):
    url = f"{conn.base_url.rstrip('/')}/{path}"
    query = dict(params or {})
    if conn.acting_org_id:
        query["orgId"] = conn.acting_org_id
    response = send(method, url, params=query or None, json=json,
                    headers={"Authorization": f"Bearer {conn.token}"},
                    provider_label=LABEL, describe_error=_describer(what),
                    timeout=conn.options.get("timeout"))
    return json_or_empty(response)


def _q(value: str) -> str:
    return quote(value, safe="")


def _telephony(person: str, *rest: str) -> str:
    return "/".join(("telephony/config/people", _q(person), *rest))


def _features(person: str, *rest: str) -> str:
    return "/".join(("people", _q(person), "features", *rest))


# --- selective forward --------------------------------------------------------------------


def get_selective_forward(conn, person) -> tuple[SelectiveForward, list[str]]:
    """The settings, and the ids of the person's criteria in Webex's order."""
    body = _call(conn, "GET", _telephony(person, "selectiveForward"), what="setting")
    criteria = body.get("criteria")
    ids = [c["id"] for c in criteria if isinstance(c, dict) and isinstance(c.get("id"), str)] \
        if isinstance(criteria, list) else []
    return SelectiveForward.from_wire(body), ids


def put_selective_forward(conn, person, value: SelectiveForward) -> None:
    _call(conn, "PUT", _telephony(person, "selectiveForward"), what="setting",
          json=value.to_wire())


def create_criterion(conn, person, criterion: Criterion) -> Criterion:
    body = _call(conn, "POST", _telephony(person, "selectiveForward", "criteria"),
                 what="rule", json=criterion.to_wire())
    return criterion.with_id(body.get("id") if isinstance(body.get("id"), str) else "")


def get_criterion(conn, person, criterion_id: str) -> Criterion:
    body = _call(conn, "GET", _telephony(person, "selectiveForward", "criteria",
                                         _q(criterion_id)), what="rule")
    return Criterion.from_wire({**body, "id": criterion_id})


def put_criterion(conn, person, criterion: Criterion) -> None:
    _call(conn, "PUT", _telephony(person, "selectiveForward", "criteria", _q(criterion.id)),
          what="rule", json=criterion.to_wire())


def delete_criterion(conn, person, criterion_id: str) -> None:
    _call(conn, "DELETE", _telephony(person, "selectiveForward", "criteria",
                                     _q(criterion_id)), what="rule")


def list_criteria(conn, person) -> list[Criterion]:
    """Every criterion in full (the settings' GET names them only)."""
    _, ids = get_selective_forward(conn, person)
    return [get_criterion(conn, person, criterion_id) for criterion_id in ids]


@dataclass
class CriteriaOutcome:
    kept: list[Criterion] = field(default_factory=list)
    created: list[Criterion] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def criteria(self) -> list[Criterion]:
        """What the person has now, with Webex's ids."""
        return [*self.kept, *self.created]


def plan_criteria(existing: list[Criterion], desired: list[Criterion]):
    """(kept, to create, ids to delete): each desired criterion is matched by content
    to one existing criterion at most; unmatched existing ones (duplicates included)
    are to delete."""
    unmatched = list(existing)
    kept, to_create = [], []
    for want in desired:
        match = next((c for c in unmatched if c.key() == want.key()), None)
        if match is None:
            to_create.append(want)
        else:
            unmatched.remove(match)
            kept.append(match)
    return kept, to_create, [c.id for c in unmatched]


def reconcile_criteria(conn, person, desired: list[Criterion]) -> CriteriaOutcome:
    """Bring the person's criteria to `desired`: read them back first, so a retry
    after a crash between two writes never creates a criterion twice. Deletes come
    before creates so that a criterion being replaced never overlaps its successor."""
    kept, to_create, to_delete = plan_criteria(list_criteria(conn, person), desired)
    outcome = CriteriaOutcome(kept=kept)
    for criterion_id in to_delete:
        delete_criterion(conn, person, criterion_id)
        outcome.deleted.append(criterion_id)
    for criterion in to_create:
        outcome.created.append(create_criterion(conn, person, criterion))
    return outcome


# --- simultaneous ring and do not disturb -------------------------------------------------


def get_simultaneous_ring(conn, person) -> SimultaneousRing:
    body = _call(conn, "GET", _telephony(person, "simultaneousRing"), what="setting")
    return SimultaneousRing.from_wire(body)


def put_simultaneous_ring(conn, person, value: SimultaneousRing) -> None:
    _call(conn, "PUT", _telephony(person, "simultaneousRing"), what="setting",
          json=value.to_wire())


def get_do_not_disturb(conn, person) -> DoNotDisturb:
    return DoNotDisturb.from_wire(_call(conn, "GET", _features(person, "doNotDisturb"),
                                        what="setting"))


def put_do_not_disturb(conn, person, value: DoNotDisturb) -> None:
    _call(conn, "PUT", _features(person, "doNotDisturb"), what="setting", json=value.to_wire())


# --- schedules ----------------------------------------------------------------------------


def list_schedules(conn, person, *, schedule_type: str = "") -> list[Schedule]:
    """The person's schedules (their own and their location's, `level` says which),
    without their events (the list does not carry them)."""
    params = {"type": schedule_type} if schedule_type else None
    body = _call(conn, "GET", _features(person, "schedules"), what="schedule", params=params)
    found = body.get("schedules")
    return [Schedule.from_wire(s) for s in found if isinstance(s, dict)] \
        if isinstance(found, list) else []


def get_schedule(conn, person, schedule_type: str, schedule_id: str) -> Schedule:
    body = _call(conn, "GET", _features(person, "schedules", _q(schedule_type), _q(schedule_id)),
                 what="schedule")
    return Schedule.from_wire({**body, "type": body.get("type") or schedule_type})


def create_schedule(conn, person, schedule: Schedule) -> str:
    body = _call(conn, "POST", _features(person, "schedules"), what="schedule",
                 json=schedule.to_wire())
    return body.get("id") if isinstance(body.get("id"), str) else ""


def update_schedule(conn, person, schedule_id: str, schedule: Schedule, *,
                    old_name: str = "") -> str:
    """Replace a schedule's name and events; returns its id, which Webex changes when
    the name changes."""
    wire = schedule.to_wire()
    wire = {"newName": schedule.name, "name": old_name or schedule.name,
            "type": wire["type"], "events": wire["events"]}
    body = _call(conn, "PUT", _features(person, "schedules", _q(schedule.type), _q(schedule_id)),
                 what="schedule", json=wire)
    return body.get("id") if isinstance(body.get("id"), str) else schedule_id


def delete_schedule(conn, person, schedule_type: str, schedule_id: str) -> None:
    _call(conn, "DELETE", _features(person, "schedules", _q(schedule_type), _q(schedule_id)),
          what="schedule")


def create_event(conn, person, schedule_type: str, schedule_id: str,
                 event: ScheduleEvent) -> str:
    body = _call(conn, "POST", _features(person, "schedules", _q(schedule_type),
                                         _q(schedule_id), "events"),
                 what="schedule event", json=event.to_wire())
    return body.get("id") if isinstance(body.get("id"), str) else ""


def delete_event(conn, person, schedule_type: str, schedule_id: str, event_id: str) -> None:
    _call(conn, "DELETE", _features(person, "schedules", _q(schedule_type), _q(schedule_id),
                                    "events", _q(event_id)), what="schedule event")


def ensure_schedule(conn, person, desired: Schedule) -> tuple[str, str]:
    """Make the person hold `desired` (matched by name and type): created when absent,
    its events replaced when they differ, untouched when equal. Returns (id, what was
    done: "created" | "updated" | "unchanged"); safe to repeat after a crash."""
    for summary in list_schedules(conn, person, schedule_type=desired.type):
        if (summary.name, summary.type, summary.level) == (desired.name, desired.type,
                                                            "PEOPLE"):
            current = get_schedule(conn, person, desired.type, summary.id)
            if current.same_events(desired):
                return summary.id, "unchanged"
            return update_schedule(conn, person, summary.id, desired), "updated"
    return create_schedule(conn, person, desired), "created"
