"""Webex Calling: read and configure a person's call forwarding settings.

    GET /webex/v1/people/{personId}/features/callForwarding[?orgId=...]
    PUT /webex/v1/people/{personId}/features/callForwarding[?orgId=...]

Bodies follow the Webex documentation example key for key.  PUT is a partial
update (only the given keys change) answered with 204.  Decisions where Webex does
not say (see docs/sandbox.md): ``systemMaxNumberOfRings`` is read-only and silently
ignored on PUT, so the documented example body can be sent back unchanged; unknown
keys are rejected with 400 so that typos in a client surface in tests.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from .provider import Provider, split_path
from .state import WebexPerson
from .wire import BadJson, Request, Response, is_int

_BOOL = "bool"
_STR = "str"
_RINGS = "rings"
_READ_ONLY = "read-only"

# What a PUT may contain; leaves name the accepted type.
_SCHEMA: dict[str, Any] = {
    "callForwarding": {
        "always": {
            "enabled": _BOOL,
            "destination": _STR,
            "ringReminderEnabled": _BOOL,
            "destinationVoicemailEnabled": _BOOL,
        },
        "busy": {"enabled": _BOOL, "destination": _STR, "destinationVoicemailEnabled": _BOOL},
        "noAnswer": {
            "enabled": _BOOL,
            "destination": _STR,
            "numberOfRings": _RINGS,
            "systemMaxNumberOfRings": _READ_ONLY,
            "destinationVoicemailEnabled": _BOOL,
        },
    },
    "businessContinuity": {
        "enabled": _BOOL,
        "destination": _STR,
        "destinationVoicemailEnabled": _BOOL,
    },
}

MIN_NUMBER_OF_RINGS = 2


class WebexError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def tracking_id(req: Request) -> str:
    # Webex gives every request a tracking id; one per request, shared by the
    # TrackingID header and the error body so that log lines can be correlated.
    if "trackingId" not in req.extra:
        req.extra["trackingId"] = f"SANDBOX_{uuid.uuid4()}"
    return req.extra["trackingId"]


def validate_put(body: Any, system_max: int) -> list[tuple[tuple[str, ...], Any]]:
    """Check a PUT body; return the (path, value) leaves to apply, or raise 400."""
    if not isinstance(body, dict):
        raise WebexError(400, "Request body must be a JSON object.")
    updates: list[tuple[tuple[str, ...], Any]] = []
    _walk(body, _SCHEMA, (), system_max, updates)
    return updates


def _walk(
    node: dict[str, Any],
    schema: dict[str, Any],
    prefix: tuple[str, ...],
    system_max: int,
    updates: list[tuple[tuple[str, ...], Any]],
) -> None:
    for key, value in node.items():
        path = (*prefix, key)
        dotted = ".".join(path)
        if key not in schema:
            raise WebexError(400, f"Unknown field: {dotted}.")
        rule = schema[key]
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise WebexError(400, f"Invalid field value: {dotted} must be an object.")
            _walk(value, rule, path, system_max, updates)
        elif rule == _READ_ONLY:
            continue  # read-only: ignored, as Webex does with read-only fields
        elif rule == _BOOL:
            if not isinstance(value, bool):
                raise WebexError(400, f"Invalid field value: {dotted} must be a boolean.")
            updates.append((path, value))
        elif rule == _STR:
            if not isinstance(value, str):
                raise WebexError(400, f"Invalid field value: {dotted} must be a string.")
            updates.append((path, value))
        elif rule == _RINGS:
            if not is_int(value):
                raise WebexError(400, f"Invalid field value: {dotted} must be an integer.")
            if not MIN_NUMBER_OF_RINGS <= value <= system_max:
                raise WebexError(
                    400,
                    f"Invalid field value: {dotted} must be between "
                    f"{MIN_NUMBER_OF_RINGS} and {system_max}.",
                )
            updates.append((path, value))


class WebexProvider(Provider):
    name = "webex"
    prefix = "/webex/"

    def _parse(self, req: Request) -> str | None:
        parts = split_path(req.path)
        # webex / v1 / people / {personId} / features / callForwarding
        if (
            len(parts) == 6
            and parts[:3] == ["webex", "v1", "people"]
            and parts[4:] == ["features", "callForwarding"]
        ):
            return parts[3]
        return None

    def prepare(self, req: Request) -> None:
        req.person_id = self._parse(req)
        org = req.param("orgId")
        if not org:
            token = self.state.tokens.get(req.bearer_token() or "")
            org = token.org_id if token else None
        req.org_id = org

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except WebexError as exc:
            return self.error(req, exc.status, exc.message)

    def _handle(self, req: Request) -> Response:
        person_id = self._parse(req)
        if person_id is None:
            raise WebexError(404, "The requested resource could not be found.")
        if req.method not in ("GET", "PUT"):
            raise WebexError(405, f"Method {req.method} is not allowed on this resource.")
        with self.state.lock:
            person = self.authorized_person(req, person_id)
            if req.method == "GET":
                return Response(200, copy.deepcopy(person.settings))
            try:
                body = req.json()
            except BadJson as exc:
                raise WebexError(400, str(exc)) from None
            if body is None:
                raise WebexError(400, "Request body is required.")
            # Validate everything before changing anything: a 400 leaves the
            # settings exactly as they were.
            for path, value in validate_put(body, person.system_max_rings):
                target = person.settings
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = value
            return Response(204)

    def authorized_person(self, req: Request, person_id: str) -> WebexPerson:
        """The person a request may address, or a WebexError (401, 403, 404) as Webex
        answers it; the caller holds the state lock."""
        st = self.state
        token = st.tokens.get(req.bearer_token() or "")
        # An expired or revoked token gets the same 401 as an unknown one, as at Webex.
        if token is None or token.expired() or not token.usable_by(self.name):
            raise WebexError(
                401,
                "The request requires a valid access token set in the "
                "Authorization request header.",
            )
        org_id = req.param("orgId") or token.org_id
        if not token.can_reach(org_id):
            raise WebexError(403, f"The token is not authorized for organization {org_id}.")
        person = st.people.get(person_id)
        if person is None or person.org_id != org_id:
            raise WebexError(404, f"Person {person_id} not found in organization {org_id}.")
        return person

    def error(self, req: Request, status: int, message: str, code: str | None = None) -> Response:
        return Response(
            status,
            {
                "message": message,
                "errors": [{"description": message}],
                "trackingId": tracking_id(req),
            },
        )

    def finalize(self, req: Request, resp: Response) -> None:
        resp.headers["TrackingID"] = tracking_id(req)
