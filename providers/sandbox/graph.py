"""Microsoft Graph call redirect, v1.0 and beta.

    POST /graph/v1.0/communications/calls/{id}/redirect          -> 202, empty body
    POST /graph/beta/app/calls/{id}/redirect                      -> 200 commsOperation
    POST /graph/beta/applications/{appId}/calls/{id}/redirect     -> same as above

Calls exist only when the control API simulated them (see calls.py).  A call is
redirected through the API version its line was registered with; the other
version's URL answers 404, which catches a portal talking to the wrong version.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from . import calls
from .provider import Provider, split_path, status_code_name
from .state import GraphCall
from .wire import BadJson, Request, Response, is_int, iso_now

MAX_TARGETS = 25
TIMEOUT_MIN = 15
TIMEOUT_MAX = 90
IDENTITY_KINDS = ("user", "phone", "application", "applicationInstance")
TARGET_DISPOSITIONS = ("default", "forward")

# Codes used for the sandbox's own errors (docs/sandbox.md lists them).
_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "ItemNotFound",
    405: "MethodNotAllowed",
}


class GraphError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _bad(message: str) -> GraphError:
    return GraphError(400, message)


def _check_identity_set(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an identitySet object.")
    kinds = [k for k in IDENTITY_KINDS if k in value]
    if len(kinds) != 1:
        raise _bad(f"{where} must contain exactly one of {', '.join(IDENTITY_KINDS)}.")
    entry = value[kinds[0]]
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        raise _bad(f"{where}.{kinds[0]}.id must be a non-empty string.")
    return value


def _check_targets(body: dict[str, Any]) -> list[Any]:
    targets = body.get("targets")
    if targets is None:
        raise _bad("The targets parameter is required.")
    if not isinstance(targets, list):
        raise _bad("targets must be an array.")
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise _bad(f"targets must contain between 1 and {MAX_TARGETS} entries.")
    return targets


def _check_timeout(value: Any, allow_numeric_string: bool) -> int:
    if allow_numeric_string and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not is_int(value):
        raise _bad("timeout must be an integer number of seconds.")
    if not TIMEOUT_MIN <= value <= TIMEOUT_MAX:
        raise _bad(f"timeout must be between {TIMEOUT_MIN} and {TIMEOUT_MAX} seconds inclusive.")
    return value


def validate_v1(body: Any) -> tuple[dict[str, Any], str | None]:
    """Validate a v1.0 redirect body; return (first target identity, callbackUri)."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    targets = _check_targets(body)
    for i, target in enumerate(targets):
        if not isinstance(target, dict):
            raise _bad(f"targets[{i}] must be an invitationParticipantInfo object.")
        _check_identity_set(target.get("identity"), f"targets[{i}].identity")
    if "timeout" in body:
        _check_timeout(body["timeout"], allow_numeric_string=False)
    callback_uri = body.get("callbackUri")
    if callback_uri is not None:
        if not isinstance(callback_uri, str) or not callback_uri.lower().startswith("https://"):
            raise _bad("callbackUri must be an https URI.")
    return copy.deepcopy(targets[0]["identity"]), callback_uri


def validate_beta(body: Any) -> dict[str, Any]:
    """Validate a beta redirect body; return the first target (an identitySet)."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    targets = _check_targets(body)
    for i, target in enumerate(targets):
        _check_identity_set(target, f"targets[{i}]")
    disposition = body.get("targetDisposition")
    if disposition is not None and disposition not in TARGET_DISPOSITIONS:
        raise _bad(f"targetDisposition must be one of {', '.join(TARGET_DISPOSITIONS)}.")
    if "timeout" in body:
        _check_timeout(body["timeout"], allow_numeric_string=True)
    for flag in ("maskCallee", "maskCaller"):
        if flag in body and not isinstance(body[flag], bool):
            raise _bad(f"{flag} must be a boolean.")
    if "clientContext" in body and not isinstance(body["clientContext"], str):
        raise _bad("clientContext must be a string.")
    return copy.deepcopy(targets[0])


class GraphProvider(Provider):
    name = "graph"
    prefix = "/graph/"

    def _parse(self, req: Request) -> tuple[str | None, str | None]:
        """(api version, call id) of a redirect URL, or (None, None)."""
        parts = split_path(req.path)
        if parts[:4] == ["graph", "v1.0", "communications", "calls"] and len(parts) == 6:
            if parts[5] == "redirect":
                return "v1.0", parts[4]
        if parts[:4] == ["graph", "beta", "app", "calls"] and len(parts) == 6:
            if parts[5] == "redirect":
                return "beta", parts[4]
        if parts[:3] == ["graph", "beta", "applications"] and len(parts) == 7:
            if parts[4] == "calls" and parts[6] == "redirect":
                return "beta", parts[5]
        return None, None

    def prepare(self, req: Request) -> None:
        _, call_id = self._parse(req)
        req.person_id = call_id
        call = self.state.calls.get(call_id or "")
        req.org_id = call.line.org_id if call else None

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except GraphError as exc:
            return self.error(req, exc.status, exc.message, exc.code)

    def _handle(self, req: Request) -> Response:
        version, call_id = self._parse(req)
        if version is None:
            raise GraphError(404, f"Resource not found for the path '{req.path}'.")
        if req.method != "POST":
            raise GraphError(405, f"Method {req.method} is not allowed on this resource.")
        st = self.state
        with st.lock:
            token = st.tokens.get(req.bearer_token() or "")
            if token is None or not token.usable_by(self.name):
                raise GraphError(401, "Access token is empty or not valid.")
            if token.expired():
                raise GraphError(401, "Lifetime validation failed, the token is expired.")
            call: GraphCall | None = st.calls.get(call_id or "")
            if call is None:
                raise GraphError(404, f"Call {call_id} was not found.")
            if call.line.api_version != version:
                raise GraphError(
                    404,
                    f"Call {call_id} was not found in API version {version} (its line is "
                    f"registered for {call.line.api_version}).",
                )
            if not token.can_reach(call.line.org_id):
                raise GraphError(403, "The token is not authorized for this call's tenant.")
        try:
            body = req.json()
        except BadJson as exc:
            raise _bad(str(exc)) from None
        if version == "v1.0":
            answered_by, callback_uri = validate_v1(body)
        else:
            answered_by, callback_uri = validate_beta(body), None
        problem = calls.accept_redirect(st, call, copy.deepcopy(body), answered_by, callback_uri)
        if problem is not None:
            raise _bad(problem)
        if version == "v1.0":
            return Response(202)
        now = iso_now()
        operation: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.commsOperation",
            "createdDateTime": now,
            "id": str(uuid.uuid4()),
            "lastActionDateTime": now,
            "status": "Running",
        }
        if "clientContext" in body:
            operation["clientContext"] = body["clientContext"]
        return Response(200, operation)

    def error(self, req: Request, status: int, message: str, code: str | None = None) -> Response:
        if code is None:
            code = _CODES.get(status) or status_code_name(status)
        return Response(
            status,
            {
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {"request-id": req.request_id, "date": iso_now()},
                }
            },
        )

    def finalize(self, req: Request, resp: Response) -> None:
        resp.headers["request-id"] = req.request_id
        client_request_id = req.headers.get("client-request-id")
        if client_request_id:
            resp.headers["client-request-id"] = client_request_id
