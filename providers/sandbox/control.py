"""Control API under ``/_sandbox/``: seed data, switch behaviours, read back traffic.

JSON in and out, no authentication (the sandbox only listens where tests run).
Control requests are not rate limited, not subject to faults and not written to
the request log, so a test can always inspect the sandbox.  Errors look like
``{"error": "<message>"}``.  The full list of routes with examples is in
docs/sandbox.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import calls
from .controlkit import ControlError, json_body, optional_int, required_str
from .identity_control import IdentityControl
from .provider import split_path
from .state import (
    DEFAULT_BOT_APP_ID,
    DEFAULT_SYSTEM_MAX_RINGS,
    GRAPH_DEFAULT_DEADLINE_MS,
    UCWA_ERROR_SWITCHES,
    GraphLine,
    SandboxState,
    Token,
    UcwaApp,
    WebexPerson,
    new_webex_settings,
)
from .ucwa import settings_view
from .wire import Request, Response, is_int

API_VERSIONS = ("v1.0", "beta")
IDENTITY_TYPES = ("application", "applicationInstance", "user")
MAX_BATCH_CALLS = 100
_URL_RE = re.compile(r"^https?://[^\s/]+")


def _error_switches(value: Any, base: dict[str, bool]) -> dict[str, bool]:
    if value is None:
        return base
    if not isinstance(value, dict):
        raise ControlError(400, "errors must be an object")
    merged = dict(base)
    for name, enabled in value.items():
        if name not in UCWA_ERROR_SWITCHES:
            raise ControlError(
                400, f"unknown UCWA error {name!r}; known: {', '.join(UCWA_ERROR_SWITCHES)}"
            )
        if not isinstance(enabled, bool):
            raise ControlError(400, f"errors.{name} must be a boolean")
        merged[name] = enabled
    return merged


Handler = Callable[[Request, list[str]], Response]


class Control:
    prefix = "/_sandbox/"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        # (method, path pattern) -> handler; "*" matches one path segment.
        self.routes: list[tuple[str, tuple[str, ...], Handler]] = [
            ("GET", ("health",), self.health),
            ("POST", ("reset",), self.reset),
            ("GET", ("tokens",), self.list_tokens),
            ("POST", ("tokens",), self.add_token),
            ("GET", ("webex", "people"), self.list_people),
            ("POST", ("webex", "people"), self.add_person),
            ("GET", ("webex", "people", "*"), self.get_person),
            ("GET", ("ucwa", "applications"), self.list_apps),
            ("POST", ("ucwa", "applications"), self.add_app),
            ("GET", ("ucwa", "applications", "*"), self.get_app),
            ("PATCH", ("ucwa", "applications", "*"), self.patch_app),
            ("GET", ("graph", "lines"), self.list_lines),
            ("POST", ("graph", "lines"), self.add_line),
            ("GET", ("graph", "calls"), self.list_calls),
            ("POST", ("graph", "calls"), self.add_call),
            ("POST", ("graph", "calls", "batch"), self.add_calls),
            ("GET", ("graph", "calls", "*"), self.get_call),
            ("GET", ("ratelimits",), self.list_limits),
            ("PUT", ("ratelimits", "*"), self.set_limit),
            ("GET", ("faults",), self.list_faults),
            ("POST", ("faults",), self.add_fault),
            ("DELETE", ("faults", "*"), self.delete_fault),
            ("GET", ("requests",), self.requests),
            ("GET", ("stats",), self.stats),
            *IdentityControl(state).routes,
            *state.receivers.routes(),
        ]

    def handle(self, req: Request) -> Response:
        parts = split_path(req.path)[1:]  # drop "_sandbox"
        path_known = False
        for method, pattern, handler in self.routes:
            if len(pattern) != len(parts):
                continue
            if all(p == "*" or p == s for p, s in zip(pattern, parts, strict=True)):
                path_known = True
                if method == req.method:
                    args = [s for p, s in zip(pattern, parts, strict=True) if p == "*"]
                    try:
                        return handler(req, args)
                    except ControlError as exc:
                        return Response(exc.status, {"error": exc.message})
        if path_known:
            return Response(405, {"error": f"method {req.method} not allowed on {req.path}"})
        return Response(404, {"error": f"no control route {req.path}"})

    # --- helpers ------------------------------------------------------------

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        return json_body(req)

    # --- routes -------------------------------------------------------------

    def health(self, req: Request, args: list[str]) -> Response:
        return Response(200, {"ok": True})

    def reset(self, req: Request, args: list[str]) -> Response:
        self.state.reset()
        return Response(200, {"reset": True})

    def list_tokens(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [t.view() for t in self.state.tokens.values()])

    def add_token(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        token = required_str(body, "token")
        org_id = required_str(body, "orgId")
        partner_for = body.get("partnerFor") or []
        if not isinstance(partner_for, list) or not all(
            isinstance(o, str) and o for o in partner_for
        ):
            raise ControlError(400, "partnerFor must be a list of org ids")
        record = Token(token, org_id, list(partner_for))
        with self.state.lock:
            self.state.tokens[token] = record
        return Response(201, record.view())

    def list_people(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [p.view() for p in self.state.people.values()])

    def add_person(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        org_id = required_str(body, "orgId")
        person_id = required_str(body, "personId")
        system_max = optional_int(body, "systemMaxNumberOfRings", 2)
        if system_max is None:
            system_max = DEFAULT_SYSTEM_MAX_RINGS
        # Re-posting a person replaces it: forwarding off again, new org/max.
        person = WebexPerson(person_id, org_id, system_max, new_webex_settings(system_max))
        with self.state.lock:
            self.state.people[person_id] = person
            return Response(201, person.view())

    def get_person(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            person = self.state.people.get(args[0])
            if person is None:
                raise ControlError(404, f"no person {args[0]}")
            return Response(200, person.view())

    def _app_view(self, app: UcwaApp) -> dict[str, Any]:
        view = app.view()
        view["settings"] = settings_view(app)
        return view

    def list_apps(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [self._app_view(a) for a in self.state.ucwa_apps.values()])

    def add_app(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        app_id = required_str(body, "applicationId")
        token = required_str(body, "token")
        org_id = body.get("orgId")
        if org_id is not None and (not isinstance(org_id, str) or not org_id):
            raise ControlError(400, "orgId must be a non-empty string")
        errors = _error_switches(body.get("errors"), dict.fromkeys(UCWA_ERROR_SWITCHES, False))
        app = UcwaApp(app_id, token, org_id, errors)
        with self.state.lock:
            self.state.ucwa_apps[app_id] = app
            return Response(201, self._app_view(app))

    def get_app(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            app = self.state.ucwa_apps.get(args[0])
            if app is None:
                raise ControlError(404, f"no UCWA application {args[0]}")
            return Response(200, self._app_view(app))

    def patch_app(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        with self.state.lock:
            app = self.state.ucwa_apps.get(args[0])
            if app is None:
                raise ControlError(404, f"no UCWA application {args[0]}")
            app.errors = _error_switches(body.get("errors"), app.errors)
            return Response(200, self._app_view(app))

    def list_lines(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [line.view() for line in self.state.lines.values()])

    def add_line(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        line_id = required_str(body, "lineId")
        org_id = required_str(body, "orgId")
        callback_url = required_str(body, "callbackUrl")
        if not _URL_RE.match(callback_url):
            raise ControlError(400, "callbackUrl must be an http:// or https:// URL")
        api_version = body.get("apiVersion", "v1.0")
        if api_version not in API_VERSIONS:
            raise ControlError(400, f"apiVersion must be one of {', '.join(API_VERSIONS)}")
        identity_type = body.get("identityType", "application")
        if identity_type not in IDENTITY_TYPES:
            raise ControlError(400, f"identityType must be one of {', '.join(IDENTITY_TYPES)}")
        display_name = body.get("displayName", "sandbox bot")
        if not isinstance(display_name, str):
            raise ControlError(400, "displayName must be a string")
        app_id = body.get("appId", DEFAULT_BOT_APP_ID)
        if not isinstance(app_id, str) or not app_id:
            raise ControlError(400, "appId must be a non-empty string")
        line = GraphLine(
            line_id, org_id, callback_url, api_version, identity_type, display_name, app_id
        )
        with self.state.lock:
            self.state.lines[line_id] = line
        return Response(201, line.view())

    def list_calls(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [c.view() for c in self.state.calls.values()])

    def _call_args(self, body: Any) -> tuple[GraphLine, str, int, str | None]:
        if not isinstance(body, dict):
            raise ControlError(400, "each call must be a JSON object")
        line_id = required_str(body, "lineId")
        caller = body.get("caller")
        try:
            calls.parse_caller(caller)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        deadline_ms = optional_int(body, "deadlineMs", 1) or GRAPH_DEFAULT_DEADLINE_MS
        display_name = body.get("callerDisplayName")
        if display_name is not None and not isinstance(display_name, str):
            raise ControlError(400, "callerDisplayName must be a string")
        with self.state.lock:
            line = self.state.lines.get(line_id)
        if line is None:
            raise ControlError(404, f"no Graph line {line_id}")
        return line, caller, deadline_ms, display_name

    def add_call(self, req: Request, args: list[str]) -> Response:
        call = calls.start_call(self.state, *self._call_args(self._body(req)))
        with self.state.lock:
            return Response(201, call.view())

    def add_calls(self, req: Request, args: list[str]) -> Response:
        """Start several calls at the same instant (a burst, for latency benches): every
        call is checked first, and none starts unless all are valid."""
        body = self._body(req)
        items = body.get("calls")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_CALLS:
            raise ControlError(400, f"calls must be a list of 1 to {MAX_BATCH_CALLS} calls")
        checked = [self._call_args(item) for item in items]
        started = [calls.start_call(self.state, *args) for args in checked]
        with self.state.lock:
            return Response(201, [call.view() for call in started])

    def get_call(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            call = self.state.calls.get(args[0])
            if call is None:
                raise ControlError(404, f"no Graph call {args[0]}")
            return Response(200, call.view())

    def list_limits(self, req: Request, args: list[str]) -> Response:
        limits = self.state.limits.snapshot()
        return Response(200, [{"orgId": org, "perSecond": n} for org, n in limits.items()])

    def set_limit(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        per_second = body.get("perSecond")
        if per_second is not None and (
            isinstance(per_second, bool)
            or not isinstance(per_second, (int, float))
            or per_second < 0
        ):
            raise ControlError(400, "perSecond must be a number >= 0, or null")
        self.state.limits.set(args[0], per_second or None)
        return Response(200, {"orgId": args[0], "perSecond": per_second or None})

    def list_faults(self, req: Request, args: list[str]) -> Response:
        return Response(200, self.state.faults.snapshot())

    def add_fault(self, req: Request, args: list[str]) -> Response:
        body = self._body(req)
        match = body.get("match") or {}
        if not isinstance(match, dict):
            raise ControlError(400, "match must be an object")
        for key, value in match.items():
            if key not in ("orgId", "personId", "path"):
                raise ControlError(400, f"unknown match key {key!r}; use orgId, personId, path")
            if not isinstance(value, str) or not value:
                raise ControlError(400, f"match.{key} must be a non-empty string")
        status = body.get("status")
        if status is not None and (not is_int(status) or not 400 <= status <= 599):
            raise ControlError(400, "status must be an integer between 400 and 599")
        retry_after = optional_int(body, "retryAfter", 0)
        delay_ms = optional_int(body, "delayMs", 0)
        if status is None and not delay_ms:
            raise ControlError(400, "a fault needs a status, a delayMs, or both")
        count = body.get("count", 1)
        if not is_int(count) or count < 1:
            raise ControlError(400, "count must be an integer >= 1")
        fault = self.state.faults.add(match, status, retry_after, delay_ms, count)
        return Response(201, fault.view())

    def delete_fault(self, req: Request, args: list[str]) -> Response:
        if not self.state.faults.remove(args[0]):
            raise ControlError(404, f"no fault {args[0]}")
        return Response(200, {"deleted": args[0]})

    def requests(self, req: Request, args: list[str]) -> Response:
        since_raw = req.param("since")
        since = None
        if since_raw is not None:
            if not since_raw.isdigit():
                raise ControlError(400, "since must be a request seq number")
            since = int(since_raw)
        return Response(200, self.state.requests_view(since, req.param("path")))

    def stats(self, req: Request, args: list[str]) -> Response:
        return Response(200, self.state.stats_view())
