"""Simulated Microsoft Graph incoming calls and their callback notifications.

A call is created through the control API.  One daemon thread per call then plays
the call's life on the line's callback URL, so notifications of one call are always
sent in order:

* ``incoming`` is posted at once; the redirect deadline (15 s as in Graph, or the
  call's ``deadlineMs``) starts when it is sent.
* If a valid redirect arrives in time: v1.0 posts ``terminated`` (changeType
  ``deleted``, with ``answeredBy``); beta posts ``redirecting``, ``terminated``
  (``answeredBy``, ``terminationReason: AppRedirected``) and ``deleted``.
* Otherwise the call ends unanswered: ``terminated`` without ``answeredBy`` (and
  for beta ``deleted``).

Bodies are modelled on the examples of the Graph documentation; delivery failures
are recorded on the call, never raised.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from .identity_http import APS_ISSUER
from .keys import timed_claims
from .state import GraphCall, GraphLine, SandboxState

NOTIFY_TIMEOUT_S = 5.0
NOTIFICATION_TOKEN_LIFETIME = 3600
PHONE_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")

_ODATA_CALL = "#microsoft.graph.call"
_IDENTITY_SET = "#microsoft.graph.identitySet"
_IDENTITY = "#microsoft.graph.identity"
_ENDPOINT_IDENTITY = "#microsoft.graph.endpointIdentity"
_PARTICIPANT_INFO = "#microsoft.graph.participantInfo"
_INVITATION_INFO = "#microsoft.graph.invitationParticipantInfo"

MAX_IDLE_PER_HOST = 32


class _Notifier:
    """Posts notifications over kept-alive connections, one idle pool per callback host,
    as Graph's notifier keeps its HTTPS connections open. Never through a proxy: the
    callbacks go to local receivers, whatever HTTP(S)_PROXY the environment defines."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int | None], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def post(self, url: str, data: bytes, headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
        for reused in ((True, False) if conn is not None else (False,)):
            if not reused:
                cls = http.client.HTTPSConnection if parts.scheme == "https" \
                    else http.client.HTTPConnection
                conn = cls(parts.hostname or "", parts.port, timeout=NOTIFY_TIMEOUT_S)
            try:
                conn.request("POST", target, body=data, headers=headers)
                response = conn.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused:
                    continue  # the receiver had closed the idle connection: a fresh one
                raise
            except (http.client.HTTPException, OSError):
                conn.close()  # e.g. a timeout: the request may have arrived, no resend
                raise
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    pool = self._idle.setdefault(key, [])
                    if len(pool) < MAX_IDLE_PER_HOST:
                        pool.append(conn)
                        conn = None
                if conn is not None:
                    conn.close()
            return response.status
        raise AssertionError("unreachable")  # pragma: no cover


_notifier = _Notifier()


def parse_caller(caller: Any) -> tuple[str, str | None]:
    """``"+E164"`` -> phone, ``"user:<id>"`` -> user, ``"anonymous"``; else ValueError."""
    if not isinstance(caller, str):
        raise ValueError("caller must be a string")
    if caller == "anonymous":
        return "anonymous", None
    if caller.startswith("user:") and len(caller) > len("user:"):
        return "user", caller[len("user:") :]
    if PHONE_RE.match(caller):
        return "phone", caller
    raise ValueError('caller must be "+E164", "user:<id>" or "anonymous"')


def new_call_id(api_version: str) -> str:
    # Same id styles as the documentation examples of each version.
    if api_version == "beta":
        return uuid.uuid4().hex.upper()
    return str(uuid.uuid4())


# --- v1.0 bodies ------------------------------------------------------------


def _v1_caller_identity(call: GraphCall) -> dict[str, Any]:
    kind, ident = parse_caller(call.caller)
    identity: dict[str, Any] = {"@odata.type": _IDENTITY_SET}
    if kind != "anonymous":
        entry: dict[str, Any] = {"@odata.type": _IDENTITY, "id": ident}
        if kind == "user" and call.line.identity_type == "applicationInstance":
            entry["tenantId"] = call.line.org_id
        identity[kind] = entry
    return identity


def _v1_line_target(call: GraphCall) -> dict[str, Any]:
    line = call.line
    entry: dict[str, Any] = {
        "@odata.type": _IDENTITY,
        "displayName": line.display_name,
        "id": line.line_id,
    }
    identity = {"@odata.type": _IDENTITY_SET, line.identity_type: entry}
    if line.identity_type != "applicationInstance":
        # Bot (application) lines: shape of the first and second doc examples.
        return {"@odata.type": _PARTICIPANT_INFO, "identity": identity}
    # PSTN application instances: shape of the third doc example.
    entry["tenantId"] = line.org_id
    return {
        "@odata.type": _INVITATION_INFO,
        "identity": identity,
        "endpointType": "default",
        "id": call.my_participant_id,
        "region": "amer",
        "languageId": None,
    }


def v1_notification(call: GraphCall, change_type: str, state: str) -> dict[str, Any]:
    pstn = call.line.identity_type == "applicationInstance"
    data: dict[str, Any] = {
        "@odata.type": _ODATA_CALL,
        "state": state,
        "direction": "incoming",
        "callbackUri": call.redirect_callback_uri or call.line.callback_url,
        "source": {
            "@odata.type": _PARTICIPANT_INFO,
            "identity": _v1_caller_identity(call),
            "region": "amer",
        },
        "targets": [_v1_line_target(call)],
    }
    if state == "terminated" and call.outcome == "answered":
        data["answeredBy"] = {
            "@odata.type": _PARTICIPANT_INFO,
            "identity": call.answered_by,
            "endpointType": "default",
        }
    if pstn:
        data["tenantId"] = call.line.org_id
    data["myParticipantId"] = call.my_participant_id
    data["id"] = call.id
    return {
        "@odata.type": "#microsoft.graph.commsNotifications",
        "value": [
            {
                "@odata.type": "#microsoft.graph.commsNotification",
                "changeType": change_type,
                "resourceUrl": f"/communications/calls/{call.id}",
                "resourceData": data,
            }
        ],
    }


# --- beta bodies ------------------------------------------------------------


def _beta_endpoint(kind: str, ident: str, display_name: str) -> dict[str, Any]:
    return {
        "@odata.type": _IDENTITY_SET,
        kind: {
            "@odata.type": _ENDPOINT_IDENTITY,
            "displayName": display_name,
            "language": "en-US",
            "id": ident,
        },
    }


def beta_notification(call: GraphCall, change_type: str, state: str | None) -> dict[str, Any]:
    call.etag += 1  # every change of the resource gets a new etag
    data: dict[str, Any] = {
        "@odata.type": _ODATA_CALL,
        "@odata.id": f"/app/calls/{call.id}",
        "@odata.etag": f'W/"{call.etag}"',
    }
    if state is not None:
        data["callState"] = state
    if state == "incoming":
        kind, ident = parse_caller(call.caller)
        if kind == "anonymous":
            source_identity: dict[str, Any] = {"@odata.type": _IDENTITY_SET}
        else:
            source_identity = _beta_endpoint(kind, ident or "", call.caller_display_name)
        line = call.line
        data.update(
            {
                "direction": "incoming",
                "correlationId": call.correlation_id,
                "source": {"@odata.type": _PARTICIPANT_INFO, "identity": source_identity},
                "targets": [
                    {
                        "@odata.type": _PARTICIPANT_INFO,
                        "identity": _beta_endpoint(
                            line.identity_type, line.line_id, line.display_name
                        ),
                    }
                ],
                "requestedModalities": ["audio"],
            }
        )
    elif state == "terminated" and call.outcome == "answered":
        data["answeredBy"] = call.answered_by
        data["terminationReason"] = "AppRedirected"
    return {
        "value": [
            {
                "changeType": change_type,
                "resource": f"/app/calls/{call.id}",
                "resourceData": data,
            }
        ]
    }


# --- lifecycle --------------------------------------------------------------


def start_call(
    state: SandboxState,
    line: GraphLine,
    caller: str,
    deadline_ms: int,
    caller_display_name: str | None = None,
) -> GraphCall:
    call = GraphCall(
        id=new_call_id(line.api_version),
        line=line,
        caller=caller,
        deadline_ms=deadline_ms,
        my_participant_id=str(uuid.uuid4()),
        correlation_id=str(uuid.uuid4()).upper(),
        caller_display_name=caller_display_name or caller,
    )
    with state.lock:
        state.calls[call.id] = call
    threading.Thread(
        target=_run_call, args=(state, call), name=f"call-{call.id}", daemon=True
    ).start()
    return call


def accept_redirect(
    state: SandboxState,
    call: GraphCall,
    body: dict[str, Any],
    answered_by: Any,
    callback_uri: str | None,
) -> str | None:
    """Record a valid redirect; return None, or why the call cannot be redirected."""
    now = time.time()
    with state.lock:
        if call.state == "incoming" and call.deadline_at is not None and now >= call.deadline_at:
            # The deadline passed but the notifier thread has not woken yet; settle
            # the race here so that a late redirect never wins.
            call.state, call.outcome = "terminated", "unanswered"
            call.wakeup.set()
        if call.state != "incoming":
            return (
                f"Call {call.id} is in state '{call.state}'; only an incoming call "
                "can be redirected."
            )
        call.state = "redirecting"
        call.outcome = "answered"
        call.redirect = body
        call.redirect_at = now
        call.answered_by = answered_by
        call.redirect_callback_uri = callback_uri
        call.wakeup.set()
        return None


def _run_call(state: SandboxState, call: GraphCall) -> None:
    try:
        _play(state, call)
    except Exception as exc:  # a notifier crash must not take the server down
        print(f"sandbox: call {call.id} notifier failed: {exc!r}", file=sys.stderr)


def _play(state: SandboxState, call: GraphCall) -> None:
    beta = call.line.api_version == "beta"
    with state.lock:
        if call.cancelled:
            return
        call.notified_at = time.time()  # the redirect clock starts now
        body = (
            beta_notification(call, "created", "incoming")
            if beta
            else v1_notification(call, "created", "incoming")
        )
    _deliver(state, call, "incoming", "created", body)

    while True:
        with state.lock:
            if call.cancelled:
                return
            if call.state != "incoming":
                break
            remaining = call.deadline_at - time.time()  # type: ignore[operator]
            if remaining <= 0:
                call.state, call.outcome = "terminated", "unanswered"
                break
            call.wakeup.clear()
        call.wakeup.wait(remaining)

    steps: list[tuple[str, str]]
    if beta:
        steps = [("terminated", "updated"), ("deleted", "deleted")]
        if call.outcome == "answered":
            steps.insert(0, ("redirecting", "updated"))
    else:
        steps = [("terminated", "deleted")]
    for label, change_type in steps:
        with state.lock:
            if call.cancelled:
                return
            if label == "terminated":
                call.state = "terminated"
            if beta:
                body = beta_notification(call, change_type, None if label == "deleted" else label)
            else:
                body = v1_notification(call, change_type, label)
        _deliver(state, call, label, change_type, body)


def _deliver(
    state: SandboxState, call: GraphCall, label: str, change_type: str, body: dict[str, Any]
) -> None:
    data = json.dumps(body).encode("utf-8")
    status: int | None = None
    error: str | None = None
    sent_at = time.time()
    try:
        # Signed like Graph's: a bot verifies it against /aps/v1/.well-known/OpenIdConfiguration.
        token = state.keys.sign(timed_claims(
            NOTIFICATION_TOKEN_LIFETIME, iss=APS_ISSUER, aud=call.line.app_id,
            tid=call.line.org_id,
        ))
        # The control API only accepts http(s) callback URLs.
        status = _notifier.post(call.line.callback_url, data, {
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        if status >= 400:
            error = f"HTTP {status}"
    except Exception as exc:  # connection refused, timeout, bad URL...
        error = f"{type(exc).__name__}: {exc}"
    with state.lock:
        call.notifications.append(
            {
                "state": label,
                "changeType": change_type,
                "status": status,
                "error": error,
                "sentAt": sent_at,
            }
        )
