"""Microsoft Graph calling: parse a bot's call notifications and redirect incoming calls
(seeds 002, v1.0, and 003, beta).

Pure adapter: no Django. The portal hands in a `RedirectRequest` (provider-neutral: who
to ring, how long, with which disposition) and a `Connection`; it gets a `RedirectResult`
back or a `ProviderError` that says whether retrying can help. Notifications come in as
parsed JSON and go out as `CallNotification`s.

    v1.0  POST {base}/v1.0/communications/calls/{id}/redirect  -> 202
          targets: invitationParticipantInfo[], timeout, callbackUri (https only)
    beta  POST {base}/beta/app/calls/{id}/redirect               -> 200 commsOperation
          targets: identitySet[], targetDisposition, timeout, maskCallee, maskCaller

`base` is the org's base URL without the version: https://graph.microsoft.com in
production, <sandbox>/graph against the local sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from providers.addresses import E164_RE

from .base import Connection
from .capabilities import GRAPH
from .http import error_message, json_or_empty, send

# One name in every sentence (timeouts, refusals): the capabilities' label.
LABEL = GRAPH.label
DEFAULT_BASE_URL = "https://graph.microsoft.com"
API_VERSIONS = ("v1.0", "beta")

# Seed 002: "We support up to 25 targets for simulring"; timeout 15..90 seconds.
MAX_TARGETS = 25
TIMEOUT_MIN = 15
TIMEOUT_MAX = 90

# Graph's 15 s redirect deadline leaves no room for the default 10 s read timeout plus a
# retry: one attempt may take at most this long, so a second one still fits.
REDIRECT_TIMEOUT = (2.0, 5.0)

_IDENTITY_SET = "#microsoft.graph.identitySet"
_IDENTITY = "#microsoft.graph.identity"
_INVITATION = "#microsoft.graph.invitationParticipantInfo"

# Portal disposition -> beta targetDisposition. The seed shows "default" and "forward".
# "forward": the caller is not told; "redirect" (the caller is told) and "ring" (the
# called line's own ring, simultaneous ring) are Graph's default behaviour.
TARGET_DISPOSITIONS = {"forward": "forward", "redirect": "default", "ring": "default"}

# Identity kinds, in the order they are looked for in an identitySet.
_LINE_KINDS = ("application", "applicationInstance", "user", "phone")
_ANSWER_KINDS = ("user", "phone", "application", "applicationInstance", "guest", "encrypted")

# Lifecycle order of the call states a redirecting bot sees; a notification whose state
# ranks below the one already recorded arrived late (stale).
STATE_RANK = {"incoming": 0, "redirecting": 1, "terminated": 2, "deleted": 3}


# --- what crosses the boundary ------------------------------------------------------------


TARGET_KINDS = ("user", "phone", "application", "applicationInstance")


@dataclass(frozen=True)
class RedirectTarget:
    """One identity to ring: "user" (a Graph user id), "phone" (E.164), or another bot
    ("application", "applicationInstance"; seed 002's first example)."""

    kind: str
    id: str
    display_name: str = ""

    def __post_init__(self):
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"unknown redirect target kind {self.kind!r}")
        if not self.id:
            raise ValueError("a redirect target needs an id")


def target_for(destination: str, *, display_name: str = "") -> RedirectTarget:
    """A destination string as an identity: an E.164 number is a phone; anything else
    (a Graph user id, a sip: address) is a user identity with that id."""
    value = destination.strip()
    if E164_RE.match(value):
        return RedirectTarget("phone", value, display_name)
    return RedirectTarget("user", value, display_name)


@dataclass(frozen=True)
class RedirectRequest:
    call_id: str
    api_version: str
    targets: tuple[RedirectTarget, ...]
    # "forward" | "redirect" | "ring" (forwarding.rules.routing's dispositions)
    disposition: str = "ring"
    timeout: int | None = None
    mask_caller: bool = False
    mask_callee: bool = False
    # v1.0 only, and only an https URI (Graph refuses anything else).
    callback_uri: str = ""
    # v1.0 only; seed 002 example 2 sends ["disableForwarding"].
    routing_policies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedirectResult:
    status_code: int
    request_id: str = ""
    operation_id: str = ""


@dataclass(frozen=True)
class Identity:
    kind: str  # user | phone | application | applicationInstance | guest | encrypted
    id: str
    display_name: str = ""


@dataclass(frozen=True)
class CallNotification:
    """One entry of a commsNotifications body, in either API version's shape."""

    call_id: str
    api_version: str  # "v1.0" (resourceUrl, state) or "beta" (resource, callState)
    change_type: str  # created | updated | deleted
    state: str  # incoming | redirecting | terminated | deleted | other Graph states
    source: Identity | None = None  # None: anonymous or not in this notification
    source_present: bool = False  # a source block was there (None then means anonymous)
    line: Identity | None = None  # the called line (first of `targets`)
    answered_by: Identity | None = None
    etag: str = ""
    termination_reason: str = ""

    @property
    def key(self) -> str:
        """What makes two deliveries the same notification (for de-duplication)."""
        return f"{self.state}|{self.change_type}|{self.etag}"


class NotificationError(ValueError):
    """The body is not a commsNotifications document we can read; `message` is short and
    safe to return to the sender."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- request bodies ---------------------------------------------------------------------------


def _identity_set(target: RedirectTarget) -> dict:
    entry = {"@odata.type": _IDENTITY}
    if target.display_name:
        entry["displayName"] = target.display_name
    entry["id"] = target.id
    return {"@odata.type": _IDENTITY_SET, target.kind: entry}


def _checked_timeout(timeout):
    if timeout is None:
        return None
    # Routing only hands out timeouts inside the documented range; clamp anyway, because
    # Graph answers 400 to anything outside it and the call would then drop.
    return max(TIMEOUT_MIN, min(TIMEOUT_MAX, int(timeout)))


def _check_targets(request: RedirectRequest):
    if not request.targets:
        raise ValueError("a redirect needs at least one target")
    if len(request.targets) > MAX_TARGETS:
        raise ValueError(f"Graph rings at most {MAX_TARGETS} targets at once")


def v1_body(request: RedirectRequest) -> dict:
    """The v1.0 redirect body, shaped like seed 002's examples."""
    _check_targets(request)
    body = {
        "targets": [
            {"@odata.type": _INVITATION, "identity": _identity_set(t)} for t in request.targets
        ],
    }
    timeout = _checked_timeout(request.timeout)
    if timeout is not None:
        body["timeout"] = timeout
    if request.routing_policies:
        body["routingPolicies"] = list(request.routing_policies)
    if request.callback_uri.lower().startswith("https://"):
        body["callbackUri"] = request.callback_uri
    return body


def beta_body(request: RedirectRequest) -> dict:
    """The beta redirect body, shaped like seed 003's "Forward a call" example (with an
    integer timeout: the table says Int32, the example's "60" is a string)."""
    _check_targets(request)
    body = {
        "targets": [_identity_set(t) for t in request.targets],
        "targetDisposition": TARGET_DISPOSITIONS.get(request.disposition, "default"),
    }
    timeout = _checked_timeout(request.timeout)
    if timeout is not None:
        body["timeout"] = timeout
    body["maskCallee"] = bool(request.mask_callee)
    body["maskCaller"] = bool(request.mask_caller)
    return body


def redirect_body(request: RedirectRequest) -> dict:
    if request.api_version == "beta":
        return beta_body(request)
    if request.api_version == "v1.0":
        return v1_body(request)
    raise ValueError(f"unknown Graph API version {request.api_version!r}")


def redirect_url(base_url: str, request: RedirectRequest) -> str:
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    call = quote(request.call_id, safe="")
    if request.api_version == "beta":
        return f"{base}/beta/app/calls/{call}/redirect"
    return f"{base}/v1.0/communications/calls/{call}/redirect"


# --- errors -------------------------------------------------------------------------------------

_STATUS_WORDS = {
    400: f"{LABEL} refused the redirect",
    401: f"{LABEL} refused the portal's credentials; an admin must reconnect the organization",
    403: f"{LABEL} refused: the bot may not redirect calls of this tenant (check its Calls.* "
         "permissions)",
    404: f"{LABEL} does not know this call any more (it ended, or the org uses the other API "
         "version)",
    429: f"{LABEL} asked the portal to slow down",
}


def _describe(response):
    body = json_or_empty(response)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    detail = str(error.get("message") or "")[:300]
    return error_message(LABEL, response.status_code,
                         _STATUS_WORDS.get(response.status_code), detail), None


def redirect(conn: Connection, request: RedirectRequest) -> RedirectResult:
    """POST the redirect; RedirectResult on 2xx, else ProviderError (permanent for 4xx
    other than 408/423/425/429, transient for those, 5xx and network failures)."""
    body = redirect_body(request)
    response = send(
        "POST", redirect_url(conn.base_url, request), json=body,
        headers={"Authorization": f"Bearer {conn.token}"},
        provider_label=LABEL, describe_error=_describe,
        timeout=conn.options.get("timeout") or REDIRECT_TIMEOUT,
    )
    operation = json_or_empty(response) if response.content else {}
    return RedirectResult(
        status_code=response.status_code,
        request_id=response.headers.get("request-id", ""),
        operation_id=str(operation.get("id") or ""),
    )


# --- notifications ------------------------------------------------------------------------------


def _identity(identity_set, kinds) -> Identity | None:
    if not isinstance(identity_set, dict):
        return None
    for kind in kinds:
        entry = identity_set.get(kind)
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            name = entry.get("displayName")
            return Identity(kind, entry["id"], name if isinstance(name, str) else "")
    return None


def _participant_identity(value, kinds) -> Identity | None:
    """From a participantInfo ({"identity": identitySet}) or a bare identitySet (beta's
    answeredBy)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("identity"), dict):
        return _identity(value["identity"], kinds)
    return _identity(value, kinds)


def _last_segment(path) -> str:
    if not isinstance(path, str):
        return ""
    return path.rstrip("/").rsplit("/", 1)[-1]


def parse_notification(item) -> CallNotification:
    if not isinstance(item, dict):
        raise NotificationError("Each entry of value must be an object.")
    data = item.get("resourceData")
    if not isinstance(data, dict):
        raise NotificationError("resourceData must be an object.")
    change_type = item.get("changeType")
    if not isinstance(change_type, str) or not change_type:
        raise NotificationError("changeType is missing.")
    if "resourceUrl" in item:
        version, resource, state = "v1.0", item["resourceUrl"], data.get("state")
    elif "resource" in item:
        version, resource, state = "beta", item["resource"], data.get("callState")
    else:
        raise NotificationError("Neither resourceUrl (v1.0) nor resource (beta) is present.")
    call_id = _last_segment(resource) or (data.get("id") if isinstance(data.get("id"), str)
                                           else "")
    if not call_id or len(call_id) > 200:
        raise NotificationError("The call id is missing from the resource.")
    if state is None:
        # Beta's last notification has no callState: the call resource was deleted.
        state = "deleted" if change_type == "deleted" else ""
    if not isinstance(state, str):
        raise NotificationError("The call state must be a string.")

    source = data.get("source")
    targets = data.get("targets")
    line = None
    if isinstance(targets, list) and targets:
        line = _participant_identity(targets[0], _LINE_KINDS)
    etag = data.get("@odata.etag")
    reason = data.get("terminationReason")
    return CallNotification(
        call_id=call_id,
        api_version=version,
        change_type=change_type,
        state=state,
        source=_participant_identity(source, ("user", "phone")),
        source_present=isinstance(source, dict),
        line=line,
        answered_by=_participant_identity(data.get("answeredBy"), _ANSWER_KINDS),
        etag=etag if isinstance(etag, str) else "",
        termination_reason=reason if isinstance(reason, str) else "",
    )


def parse_notifications(body) -> list[CallNotification]:
    """Every notification of a commsNotifications body (v1.0 or beta shape)."""
    if not isinstance(body, dict):
        raise NotificationError("The body must be a JSON object.")
    value = body.get("value")
    if not isinstance(value, list) or not value:
        raise NotificationError("value must be a non-empty array of notifications.")
    if len(value) > 100:
        raise NotificationError("Too many notifications in one body.")
    return [parse_notification(item) for item in value]

