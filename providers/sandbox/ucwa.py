"""Skype for Business UCWA: the signed-in user's call forwarding settings.

Under ``/ucwa/v1/applications/{applicationId}/me/callForwardingSettings``:

    GET                                                   current settings (200)
    POST immediateForwardSettings/immediateForwardToContact   target        (204)
    POST simultaneousRingSettings/simultaneousRingToContact   target        (204)
    POST unansweredCallSettings/unansweredCallToContact       target, ringDelay (204)
    POST turnOffCallForwarding                                              (204)

``target`` (and ``ringDelay``) come from the query string, or else from a JSON body.
The documentation does not show the GET body nor how the modes interact; the model
chosen here (one primary mode at a time, unanswered-call forwarding alongside
"ring me" or simultaneous ring) is described in docs/sandbox.md.
"""

from __future__ import annotations

from typing import Any

from .provider import Provider, split_path, status_code_name
from .state import UcwaApp
from .wire import BadJson, Request, Response, is_int

TARGET_MAX_LENGTH = 80
RING_DELAY_MIN = 5
RING_DELAY_MAX = 60

_BASE = ("me", "callForwardingSettings")
_OPERATIONS = {
    ("immediateForwardSettings", "immediateForwardToContact"): "immediateForward",
    ("simultaneousRingSettings", "simultaneousRingToContact"): "simultaneousRing",
    ("unansweredCallSettings", "unansweredCallToContact"): "unansweredCall",
    ("turnOffCallForwarding",): "turnOff",
}
_LINK_NAMES = {
    "immediateForward": "immediateForwardToContact",
    "simultaneousRing": "simultaneousRingToContact",
    "unansweredCall": "unansweredCallToContact",
    "turnOff": "turnOffCallForwarding",
}

# The documented synchronous errors, in the order they are checked when a test
# switches on several at once: (status, code, subcode, message).
SWITCHABLE_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "Forbidden": (
        403,
        "Forbidden",
        None,
        "The user is not enabled for enterprise voice, the user is anonymous, or the "
        "administrator has disabled call forwarding to custom numbers.",
    ),
    "AlreadyExists": (409, "Conflict", "AlreadyExists", "The already exists error."),
    "TooManyGroups": (409, "Conflict", "TooManyGroups", "The too many groups error."),
    "CannotRedirect": (
        410,
        "Gone",
        "CannotRedirect",
        "Cannot redirect since there is no back up pool configured.",
    ),
    "CallbackChannelError": (
        500,
        "ServiceFailure",
        "CallbackChannelError",
        "The remote event channel is not reachable.",
    ),
}


class UcwaError(Exception):
    def __init__(self, status: int, code: str, message: str, subcode: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message


def _bad_parameter(message: str) -> UcwaError:
    return UcwaError(400, "BadRequest", message, "ParameterValidationFailure")


def settings_view(app: UcwaApp) -> dict[str, Any]:
    base = f"/ucwa/v1/applications/{app.application_id}/me/callForwardingSettings"
    if app.mode != "off":
        active = app.mode
    else:
        active = "unansweredCall" if app.unanswered_enabled else "off"
    links: dict[str, Any] = {"self": {"href": base}}
    for segments, op in _OPERATIONS.items():
        links[_LINK_NAMES[op]] = {"href": base + "/" + "/".join(segments)}
    return {
        "activeSetting": active,
        "immediateForwardTarget": app.immediate_target,
        "simultaneousRingTarget": app.simul_target,
        "unansweredCallEnabled": app.unanswered_enabled,
        "unansweredCallTarget": app.unanswered_target,
        "ringDelay": app.ring_delay,
        "_links": links,
    }


def _validate_target(value: Any) -> str:
    if value is None or value == "":
        raise _bad_parameter("The target parameter is required.")
    if not isinstance(value, str):
        raise _bad_parameter("The target parameter must be a string.")
    if len(value) > TARGET_MAX_LENGTH:
        raise _bad_parameter(
            f"The target parameter must be at most {TARGET_MAX_LENGTH} characters."
        )
    scheme, sep, rest = value.partition(":")
    # URIs never contain whitespace; rejecting it also catches a client that put
    # "tel:+1..." in a query string without encoding "+" (which decodes to a space).
    if (
        not sep
        or scheme.lower() not in ("tel", "sip")
        or not rest
        or any(c.isspace() for c in value)
    ):
        raise _bad_parameter("The target parameter must be a tel: or sip: URI.")
    return value


def _validate_ring_delay(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not is_int(value):
        raise _bad_parameter("The ringDelay parameter must be an integer number of seconds.")
    if not RING_DELAY_MIN <= value <= RING_DELAY_MAX:
        raise _bad_parameter(
            f"The ringDelay parameter must be between {RING_DELAY_MIN} and "
            f"{RING_DELAY_MAX} seconds."
        )
    return value


class UcwaProvider(Provider):
    name = "ucwa"
    prefix = "/ucwa/"

    def _parse(self, req: Request) -> tuple[str | None, tuple[str, ...] | None]:
        """(applicationId, segments after callForwardingSettings) or Nones."""
        parts = split_path(req.path)
        # ucwa / v1 / applications / {id} / me / callForwardingSettings / ...
        if len(parts) < 6 or parts[:3] != ["ucwa", "v1", "applications"]:
            return None, None
        if tuple(parts[4:6]) != _BASE:
            return parts[3], None
        return parts[3], tuple(parts[6:])

    def prepare(self, req: Request) -> None:
        app_id, _ = self._parse(req)
        req.person_id = app_id
        app = self.state.ucwa_apps.get(app_id or "")
        req.org_id = app.org_id if app else None

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except UcwaError as exc:
            resp = self._error_body(exc.status, exc.code, exc.message, exc.subcode)
            if exc.status == 401:
                # UCWA's challenge names its token endpoint and the grants it takes.
                resp.headers["WWW-Authenticate"] = (
                    f'Bearer trusted_issuers="", client_id="00000004-0000-0ff1-ce00-'
                    f'000000000000", MsRtcOAuth href="{req.base_url()}/ucwa/WebTicket/'
                    f'oauthtoken",grant_type="urn:microsoft.rtc:windows,'
                    f'urn:microsoft.rtc:anonmeeting,password"'
                )
            return resp

    def _handle(self, req: Request) -> Response:
        app_id, rest = self._parse(req)
        if rest is None or (rest and rest not in _OPERATIONS):
            raise UcwaError(404, "NotFound", "The requested resource was not found.")
        st = self.state
        with st.lock:
            app = st.ucwa_apps.get(app_id or "")
            if app is None:
                raise UcwaError(404, "NotFound", f"Application {app_id} was not found.")
            problem = self._token_problem(req.bearer_token(), app)
            if problem is not None:
                raise UcwaError(401, "Unauthorized", problem)
            if not rest:
                if req.method != "GET":
                    raise UcwaError(405, "MethodNotAllowed", "Use GET on this resource.")
                return Response(200, settings_view(app))
            if req.method != "POST":
                raise UcwaError(405, "MethodNotAllowed", "Use POST on this resource.")
            operation = _OPERATIONS[rest]
            params = self._params(req)
            target = ring_delay = None
            if operation != "turnOff":
                target = _validate_target(req.param("target") or params.get("target"))
            if operation == "unansweredCall":
                delay = req.param("ringDelay")
                ring_delay = _validate_ring_delay(
                    delay if delay is not None else params.get("ringDelay")
                )
            # Documented errors switched on by the control API come after parameter
            # validation, the way a server binds parameters before business logic.
            for name, (status, code, subcode, message) in SWITCHABLE_ERRORS.items():
                if app.errors.get(name):
                    raise UcwaError(status, code, message, subcode)
            self._apply(app, operation, target, ring_delay)
            return Response(204)

    def _token_problem(self, bearer: str | None, app: UcwaApp) -> str | None:
        """None when the bearer may use the app: the token it was registered with, or
        a token from the WebTicket endpoint for the app's org; else why not."""
        if bearer is not None and bearer == app.token:
            return None
        token = self.state.tokens.get(bearer or "")
        if token is None or token.audience != "ucwa" or token.org_id != app.org_id:
            return "The bearer token is missing or not valid."
        if token.expired():
            return "The bearer token has expired."
        return None

    @staticmethod
    def _params(req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except BadJson as exc:
            raise UcwaError(400, "BadRequest", str(exc)) from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise _bad_parameter("The request body must be a JSON object.")
        return body

    @staticmethod
    def _apply(app: UcwaApp, operation: str, target: str | None, delay: int | None) -> None:
        if operation == "immediateForward":
            # Calls ring only at the target, so nothing can go unanswered here.
            app.mode, app.immediate_target, app.simul_target = "immediateForward", target, None
            app.unanswered_enabled, app.unanswered_target = False, None
        elif operation == "simultaneousRing":
            app.mode, app.simul_target, app.immediate_target = "simultaneousRing", target, None
        elif operation == "unansweredCall":
            if app.mode == "immediateForward":
                app.mode, app.immediate_target = "off", None
            app.unanswered_enabled, app.unanswered_target = True, target
            if delay is not None:
                app.ring_delay = delay
        else:  # turnOff
            app.mode = "off"
            app.immediate_target = app.simul_target = app.unanswered_target = None
            app.unanswered_enabled = False

    @staticmethod
    def _error_body(status: int, code: str, message: str, subcode: str | None = None) -> Response:
        body: dict[str, Any] = {"code": code}
        if subcode is not None:
            body["subcode"] = subcode
        body["message"] = message
        return Response(status, body)

    def error(self, req: Request, status: int, message: str, code: str | None = None) -> Response:
        if code is None:
            code = "ServiceFailure" if status == 500 else status_code_name(status)
        return self._error_body(status, code, message)
