"""Webex Calling person settings beyond call forwarding (docs/webex-person-settings.md).

    GET/PUT            /webex/v1/telephony/config/people/{personId}/selectiveForward
    POST               /webex/v1/telephony/config/people/{personId}/selectiveForward/criteria
    GET/PUT/DELETE     /webex/v1/telephony/config/people/{personId}/selectiveForward/criteria/{id}
    GET/PUT            /webex/v1/telephony/config/people/{personId}/simultaneousRing
    GET/PUT            /webex/v1/people/{personId}/features/doNotDisturb
    GET/POST           /webex/v1/people/{personId}/features/schedules
    GET/PUT/DELETE     /webex/v1/people/{personId}/features/schedules/{type}/{scheduleId}
    POST               .../schedules/{type}/{scheduleId}/events
    GET/PUT/DELETE     .../schedules/{type}/{scheduleId}/events/{eventId}

Same token, orgId and partner rules, error body and TrackingID as the callForwarding
endpoint (the rules live in webex.WebexProvider, which this class extends), and the
same per-org rate limits and faults (the server's pipeline).  PUTs of the settings
resources are partial updates answered with 204; unknown keys are refused with 400.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from . import webex_schedules as sched
from .provider import split_path
from .state import WebexPerson
from .webex import WebexError, WebexProvider
from .webex_schedules import ScheduleError
from .wire import BadJson, Request, Response

MAX_SIMRING_NUMBERS = 10
CALLS_FROM = ("ANY_PHONE_NUMBER", "SELECT_PHONE_NUMBERS", "ANY_INTERNAL", "ANY_EXTERNAL")
SCHEDULE_LEVELS = ("PEOPLE", "GROUP")
# The GET of selectiveForward summarises each criterion with a `source`.
_SOURCE = {"ANY_PHONE_NUMBER": "ALL_NUMBERS", "SELECT_PHONE_NUMBERS": "SPECIFIC_NUMBERS",
           "ANY_INTERNAL": "ANY_INTERNAL", "ANY_EXTERNAL": "ANY_EXTERNAL"}
_criterion_ids = itertools.count(1)


@dataclass
class PersonFeatures:
    selective_forward: dict[str, Any] = field(default_factory=lambda: {
        "enabled": False, "defaultPhoneNumberToForward": "", "ringReminderEnabled": False,
        "destinationVoicemailEnabled": False})
    criteria: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> body
    simultaneous_ring: dict[str, Any] = field(default_factory=lambda: {
        "enabled": False, "doNotRingIfOnCallEnabled": False, "phoneNumbers": [],
        "criteriasEnabled": False})
    dnd: dict[str, Any] = field(default_factory=lambda: {
        "enabled": False, "ringSplashEnabled": False, "webexGoOverrideEnabled": False})
    # (type, id) -> {"id", "name", "type", "events": [...]}, in creation order
    schedules: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return copy.deepcopy({
            "selectiveForward": self.selective_forward,
            "criteria": [{"id": key, **body} for key, body in self.criteria.items()],
            "simultaneousRing": self.simultaneous_ring,
            "doNotDisturb": self.dnd,
            "schedules": list(self.schedules.values()),
        })


def features_of(person: WebexPerson) -> PersonFeatures:
    if person.features is None:
        person.features = PersonFeatures()
    return person.features


def _new_criterion_id() -> str:
    return sched.webex_id("CRITERIA", f"sandbox-{next(_criterion_ids)}")


# --- field checks --------------------------------------------------------------------------


def _bool(body: dict, key: str, where: str = "") -> None:
    if key in body and not isinstance(body[key], bool):
        raise WebexError(400, f"Invalid field value: {where}{key} must be a boolean.")


def _str(body: dict, key: str, where: str = "") -> None:
    if key in body and not isinstance(body[key], str):
        raise WebexError(400, f"Invalid field value: {where}{key} must be a string.")


def _object(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except BadJson as exc:
        raise WebexError(400, str(exc)) from None
    if body is None:
        raise WebexError(400, "Request body is required.")
    if not isinstance(body, dict):
        raise WebexError(400, "Request body must be a JSON object.")
    return body


def _only(body: dict, allowed: tuple[str, ...], where: str = "") -> None:
    for key in body:
        if key not in allowed:
            raise WebexError(400, f"Unknown field: {where}{key}.")


def _check_flat(body: dict, bools: tuple[str, ...], strings: tuple[str, ...] = ()) -> None:
    _only(body, bools + strings)
    for key in bools:
        _bool(body, key)
    for key in strings:
        _str(body, key)


def _check_simring(body: dict) -> None:
    flags = ("enabled", "doNotRingIfOnCallEnabled", "criteriasEnabled")
    _only(body, (*flags, "phoneNumbers"))
    for key in flags:
        _bool(body, key)
    if "phoneNumbers" not in body:
        return
    numbers = body["phoneNumbers"]
    if not isinstance(numbers, list):
        raise WebexError(400, "Invalid field value: phoneNumbers must be a list.")
    if len(numbers) > MAX_SIMRING_NUMBERS:
        raise WebexError(400, f"Invalid field value: phoneNumbers may hold at most "
                              f"{MAX_SIMRING_NUMBERS} numbers.")
    seen = set()
    for i, entry in enumerate(numbers):
        where = f"phoneNumbers[{i}]."
        if not isinstance(entry, dict):
            raise WebexError(400, f"Invalid field value: phoneNumbers[{i}] must be an object.")
        _only(entry, ("phoneNumber", "answerConfirmationEnabled"), where)
        number = entry.get("phoneNumber")
        if not isinstance(number, str) or not number.strip():
            raise WebexError(400, f"Invalid field value: {where}phoneNumber is required.")
        if number in seen:
            raise WebexError(400, f"Invalid field value: {number} is listed twice.")
        seen.add(number)
        if not isinstance(entry.get("answerConfirmationEnabled", False), bool):
            raise WebexError(400, f"Invalid field value: {where}answerConfirmationEnabled "
                                  "must be a boolean.")


_CRITERION_KEYS = ("forwardToPhoneNumber", "sendToVoicemailEnabled", "scheduleName",
                   "scheduleType", "scheduleLevel", "callsFrom", "anonymousCallersEnabled",
                   "unavailableCallersEnabled", "phoneNumbers", "forwardEnabled")


def _check_criterion(body: dict, features: PersonFeatures) -> dict[str, Any]:
    """A complete criterion (defaults filled in, Webex's key order), or a 400."""
    _only(body, _CRITERION_KEYS)
    for key in ("sendToVoicemailEnabled", "anonymousCallersEnabled",
                "unavailableCallersEnabled", "forwardEnabled"):
        _bool(body, key)
    for key in ("forwardToPhoneNumber", "scheduleName"):
        _str(body, key)
    if not body.get("forwardToPhoneNumber", "").strip():
        raise WebexError(400, "Invalid field value: forwardToPhoneNumber is required.")
    if body.get("callsFrom") not in CALLS_FROM:
        raise WebexError(400, f"Invalid field value: callsFrom must be one of "
                              f"{', '.join(CALLS_FROM)}.")
    numbers = body.get("phoneNumbers", [])
    if not isinstance(numbers, list) or not all(isinstance(n, str) and n for n in numbers):
        raise WebexError(400, "Invalid field value: phoneNumbers must be a list of numbers.")
    if body["callsFrom"] == "SELECT_PHONE_NUMBERS" and not (
        numbers or body.get("anonymousCallersEnabled") or body.get("unavailableCallersEnabled")
    ):
        raise WebexError(400, "Invalid field value: SELECT_PHONE_NUMBERS needs phoneNumbers "
                              "or anonymous or unavailable callers.")
    criterion = {key: body.get(key) for key in _CRITERION_KEYS}
    criterion.update(
        sendToVoicemailEnabled=body.get("sendToVoicemailEnabled", False),
        anonymousCallersEnabled=body.get("anonymousCallersEnabled", False),
        unavailableCallersEnabled=body.get("unavailableCallersEnabled", False),
        phoneNumbers=list(numbers), forwardEnabled=body.get("forwardEnabled", True),
    )
    name = body.get("scheduleName")
    if not name:
        for key in ("scheduleName", "scheduleType", "scheduleLevel"):
            criterion.pop(key)
        return criterion
    level = body.get("scheduleLevel", "PEOPLE")
    if level not in SCHEDULE_LEVELS:
        raise WebexError(400, f"Invalid field value: scheduleLevel must be one of "
                              f"{', '.join(SCHEDULE_LEVELS)}.")
    kind = body.get("scheduleType")
    if kind not in sched.SCHEDULE_TYPES:
        raise WebexError(400, "Invalid field value: scheduleType must be one of "
                              f"{', '.join(sched.SCHEDULE_TYPES)}.")
    # The sandbox has person schedules only: a GROUP schedule is never found.
    if level != "PEOPLE" or (kind, sched.schedule_id(name)) not in features.schedules:
        raise WebexError(400, f"Invalid field value: schedule {name!r} of type {kind} "
                              "does not exist.")
    criterion.update(scheduleType=kind, scheduleLevel=level)
    return criterion


def _summary(criterion_id: str, criterion: dict[str, Any]) -> dict[str, Any]:
    summary = {"id": criterion_id}
    if criterion.get("scheduleName"):
        summary["scheduleName"] = criterion["scheduleName"]
    summary["source"] = _SOURCE[criterion["callsFrom"]]
    summary["forwardEnabled"] = criterion["forwardEnabled"]
    return summary


def _schedule_in_use(features: PersonFeatures, schedule: dict[str, Any]) -> bool:
    return any(c.get("scheduleName") == schedule["name"] and
               c.get("scheduleType") == schedule["type"] for c in features.criteria.values())


# --- the provider --------------------------------------------------------------------------

_TELEPHONY = ("webex", "v1", "telephony", "config", "people")
_FEATURES = ("webex", "v1", "people")


def route(path: str) -> tuple[str, str, list[str]] | None:
    """(resource, personId, other ids) for a path this module serves, else None."""
    parts = split_path(path)
    if tuple(parts[:5]) == _TELEPHONY and len(parts) >= 7:
        person, rest = parts[5], parts[6:]
        if rest in (["selectiveForward"], ["simultaneousRing"]):
            return rest[0], person, []
        if rest == ["selectiveForward", "criteria"]:
            return "criteria", person, []
        if len(rest) == 3 and rest[:2] == ["selectiveForward", "criteria"]:
            return "criterion", person, [rest[2]]
        return None
    if tuple(parts[:3]) != _FEATURES or len(parts) < 6 or parts[4] != "features":
        return None
    person, rest = parts[3], parts[5:]
    if rest in (["doNotDisturb"], ["schedules"]):
        return rest[0], person, []
    if rest[0] != "schedules":
        return None
    shapes = {3: "schedule", 4: "events", 5: "event"}
    if len(rest) in shapes and (len(rest) == 3 or rest[3] == "events"):
        return shapes[len(rest)], person, [rest[1], rest[2], *rest[4:]]
    return None


_METHODS = {
    "selectiveForward": ("GET", "PUT"), "simultaneousRing": ("GET", "PUT"),
    "doNotDisturb": ("GET", "PUT"), "criteria": ("POST",),
    "criterion": ("GET", "PUT", "DELETE"), "schedules": ("GET", "POST"),
    "schedule": ("GET", "PUT", "DELETE"), "events": ("POST",),
    "event": ("GET", "PUT", "DELETE"),
}


class WebexSettingsProvider(WebexProvider):
    """Answers the settings paths; asked before WebexProvider (same prefix)."""

    def matches(self, req: Request) -> bool:
        return route(req.path) is not None

    def _parse(self, req: Request) -> str | None:
        found = route(req.path)
        return found[1] if found else None

    def _handle(self, req: Request) -> Response:
        found = route(req.path)
        if found is None:
            raise WebexError(404, "The requested resource could not be found.")
        resource, person_id, ids = found
        if req.method not in _METHODS[resource]:
            raise WebexError(405, f"Method {req.method} is not allowed on this resource.")
        with self.state.lock:
            person = self.authorized_person(req, person_id)
            features = features_of(person)
            handler = getattr(self, f"_{resource}_{req.method.lower()}")
            try:
                return handler(req, features, *ids)
            except ScheduleError as exc:
                raise WebexError(exc.status, exc.message) from None

    # --- flat settings ---

    def _selectiveForward_get(self, req, features):
        body = copy.deepcopy(features.selective_forward)
        body["criteria"] = [_summary(cid, c) for cid, c in features.criteria.items()]
        return Response(200, body)

    def _selectiveForward_put(self, req, features):
        body = _object(req)
        _check_flat(body, ("enabled", "ringReminderEnabled", "destinationVoicemailEnabled"),
                    ("defaultPhoneNumberToForward",))
        features.selective_forward.update(body)
        return Response(204)

    def _simultaneousRing_get(self, req, features):
        body = copy.deepcopy(features.simultaneous_ring)
        body["criteria"] = []  # simultaneous ring's own criteria are not emulated
        return Response(200, body)

    def _simultaneousRing_put(self, req, features):
        body = _object(req)
        _check_simring(body)
        if "phoneNumbers" in body:
            body["phoneNumbers"] = [
                {"phoneNumber": n["phoneNumber"],
                 "answerConfirmationEnabled": n.get("answerConfirmationEnabled", False)}
                for n in body["phoneNumbers"]]
        features.simultaneous_ring.update(body)
        return Response(204)

    def _doNotDisturb_get(self, req, features):
        return Response(200, copy.deepcopy(features.dnd))

    def _doNotDisturb_put(self, req, features):
        body = _object(req)
        _check_flat(body, ("enabled", "ringSplashEnabled", "webexGoOverrideEnabled"))
        features.dnd.update(body)
        return Response(204)

    # --- criteria ---

    def _criterion(self, features, criterion_id):
        if criterion_id not in features.criteria:
            raise WebexError(404, f"Criteria {criterion_id} not found.")
        return features.criteria[criterion_id]

    def _criteria_post(self, req, features):
        criterion = _check_criterion(_object(req), features)
        criterion_id = _new_criterion_id()
        features.criteria[criterion_id] = criterion
        return Response(201, {"id": criterion_id})

    def _criterion_get(self, req, features, criterion_id):
        return Response(200, {"id": criterion_id,
                              **copy.deepcopy(self._criterion(features, criterion_id))})

    def _criterion_put(self, req, features, criterion_id):
        current = self._criterion(features, criterion_id)
        merged = {**current, **_object(req)}
        # The id never changes on a PUT, whatever changes in the criterion.
        features.criteria[criterion_id] = _check_criterion(merged, features)
        return Response(204)

    def _criterion_delete(self, req, features, criterion_id):
        self._criterion(features, criterion_id)
        del features.criteria[criterion_id]
        return Response(204)

    # --- schedules ---

    def _schedule(self, features, kind, schedule_id):
        sched.check_type(kind, "scheduleType")
        schedule = features.schedules.get((kind, schedule_id))
        if schedule is None:
            raise WebexError(404, f"Schedule {schedule_id} not found.")
        return schedule

    def _store(self, features, old_key, schedule):
        key = (schedule["type"], schedule["id"])
        if key != old_key and key in features.schedules:
            raise WebexError(409, f"A {schedule['type']} schedule named "
                                  f"{schedule['name']!r} already exists.")
        rebuilt = {}
        for k, v in features.schedules.items():  # keep the order on a rename
            if k == old_key:
                rebuilt[key] = schedule
            else:
                rebuilt[k] = v
        if old_key is None:
            rebuilt[key] = schedule
        features.schedules = rebuilt

    def _schedules_get(self, req, features):
        name, kind = (req.param("name") or "").lower(), req.param("type")
        found = [{"id": s["id"], "name": s["name"], "type": s["type"], "level": "PEOPLE"}
                 for s in features.schedules.values()
                 if name in s["name"].lower() and kind in (None, "", s["type"])]
        return Response(200, {"schedules": found})

    def _schedules_post(self, req, features):
        body = _object(req)
        _only(body, ("name", "type", "events"))
        name = sched.check_name(body.get("name"), "name")
        kind = sched.check_type(body.get("type"))
        events = sched.check_events(body.get("events", []))
        schedule = {"id": sched.schedule_id(name), "name": name, "type": kind, "events": events}
        self._store(features, None, schedule)
        return Response(201, {"id": schedule["id"]})

    def _schedule_get(self, req, features, kind, schedule_id):
        return Response(200, copy.deepcopy(self._schedule(features, kind, schedule_id)))

    def _schedule_put(self, req, features, kind, schedule_id):
        current = self._schedule(features, kind, schedule_id)
        body = _object(req)
        _only(body, ("newName", "name", "type", "events"))
        if "type" in body and body["type"] != kind:
            raise WebexError(400, "Invalid field value: a schedule's type cannot change.")
        name = sched.check_name(body.get("newName") or body.get("name") or current["name"],
                                "newName")
        events = current["events"]
        if "events" in body:
            events = sched.check_events(body["events"])
        if name != current["name"] and _schedule_in_use(features, current):
            raise WebexError(409, f"Schedule {current['name']!r} is used by a criterion.")
        schedule = {"id": sched.schedule_id(name), "name": name, "type": kind, "events": events}
        self._store(features, (kind, schedule_id), schedule)
        return Response(200, {"id": schedule["id"]})

    def _schedule_delete(self, req, features, kind, schedule_id):
        schedule = self._schedule(features, kind, schedule_id)
        if _schedule_in_use(features, schedule):
            raise WebexError(409, f"Schedule {schedule['name']!r} is used by a criterion.")
        del features.schedules[(kind, schedule_id)]
        return Response(204)

    # --- events of a schedule ---

    def _with_events(self, schedule, events):
        schedule["events"] = sched.check_events(events)

    def _event(self, schedule, event_id):
        for event in schedule["events"]:
            if event["id"] == event_id:
                return event
        raise WebexError(404, f"Event {event_id} not found.")

    def _events_post(self, req, features, kind, schedule_id):
        schedule = self._schedule(features, kind, schedule_id)
        event = sched.check_event(_object(req))
        self._with_events(schedule, [*schedule["events"], event])
        return Response(201, {"id": event["id"]})

    def _event_get(self, req, features, kind, schedule_id, event_id):
        schedule = self._schedule(features, kind, schedule_id)
        return Response(200, copy.deepcopy(self._event(schedule, event_id)))

    def _event_put(self, req, features, kind, schedule_id, event_id):
        schedule = self._schedule(features, kind, schedule_id)
        current = self._event(schedule, event_id)
        body = _object(req)
        if "newName" in body:
            body["name"] = body.pop("newName")
        event = sched.check_event({**current, **body})
        others = [e for e in schedule["events"] if e["id"] != event_id]
        self._with_events(schedule, [*others, event])
        return Response(200, {"id": event["id"]})

    def _event_delete(self, req, features, kind, schedule_id, event_id):
        schedule = self._schedule(features, kind, schedule_id)
        self._event(schedule, event_id)
        schedule["events"] = [e for e in schedule["events"] if e["id"] != event_id]
        return Response(204)
