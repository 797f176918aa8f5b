"""In-memory state of the sandbox: seeded data, simulated calls, request log, stats.

Everything lives in one :class:`SandboxState` guarded by one re-entrant lock.  A
single lock keeps the invariants simple (e.g. a redirect and a call deadline can
never both win) and is far from being the bottleneck at the request rates the
sandbox needs.  Nothing is persisted: a restart or ``POST /_sandbox/reset``
forgets everything.
"""

from __future__ import annotations

import collections
import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .identity import IdentityState
from .keys import KeyRing
from .limits import FaultRegistry, RateLimits
from .receiver import EventReceivers

# Bounded so that long load runs keep memory flat; tests look at recent entries.
REQUEST_LOG_SIZE = 100_000

DEFAULT_SYSTEM_MAX_RINGS = 20
DEFAULT_NUMBER_OF_RINGS = 3
DEFAULT_UCWA_RING_DELAY = 20
GRAPH_DEFAULT_DEADLINE_MS = 15_000  # "The current timeout value is 15 seconds."


@dataclass
class Token:
    token: str
    org_id: str
    partner_for: list[str]
    # Tokens seeded through POST /_sandbox/tokens never expire and work on every
    # provider; tokens minted by a token endpoint carry an expiry, the provider
    # they are for ("webex", "graph", "ucwa"), their client and their grant.
    expires_at: float | None = None
    audience: str | None = None
    client_id: str | None = None
    grant_id: str | None = None

    def can_reach(self, org_id: str) -> bool:
        return org_id == self.org_id or org_id in self.partner_for

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at

    def usable_by(self, provider: str) -> bool:
        return self.audience in (None, provider)

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "token": self.token, "orgId": self.org_id, "partnerFor": list(self.partner_for)
        }
        if self.audience is not None:
            view.update(audience=self.audience, clientId=self.client_id,
                        expiresAt=self.expires_at, expired=self.expired())
        return view


def new_webex_settings(system_max: int) -> dict[str, Any]:
    """Settings of a new person: everything off, in the key order of the Webex docs."""
    return {
        "callForwarding": {
            "always": {
                "enabled": False,
                "destination": "",
                "ringReminderEnabled": False,
                "destinationVoicemailEnabled": False,
            },
            "busy": {"enabled": False, "destination": "", "destinationVoicemailEnabled": False},
            "noAnswer": {
                "enabled": False,
                "destination": "",
                # Never above the person's own maximum (which may be 2).
                "numberOfRings": min(DEFAULT_NUMBER_OF_RINGS, system_max),
                "systemMaxNumberOfRings": system_max,
                "destinationVoicemailEnabled": False,
            },
        },
        "businessContinuity": {
            "enabled": False,
            "destination": "",
            "destinationVoicemailEnabled": False,
        },
    }


@dataclass
class WebexPerson:
    person_id: str
    org_id: str
    system_max_rings: int
    settings: dict[str, Any]
    # Selective forward, simultaneous ring, schedules and do not disturb
    # (webex_settings.PersonFeatures), created on first use.
    features: Any = None

    def view(self) -> dict[str, Any]:
        return {
            "personId": self.person_id,
            "orgId": self.org_id,
            "systemMaxNumberOfRings": self.system_max_rings,
            "settings": copy.deepcopy(self.settings),
            # Selective forward, criteria, simultaneous ring, DND and schedules.
            "features": self.features.view() if self.features is not None else None,
        }


UCWA_ERROR_SWITCHES = (
    "Forbidden",
    "AlreadyExists",
    "TooManyGroups",
    "CannotRedirect",
    "CallbackChannelError",
)


@dataclass
class UcwaApp:
    application_id: str
    token: str
    org_id: str | None
    errors: dict[str, bool]
    # Forwarding model (see docs/sandbox.md): one primary mode at a time, plus
    # unanswered-call forwarding, which can coexist with simultaneous ring.
    mode: str = "off"  # off | immediateForward | simultaneousRing
    immediate_target: str | None = None
    simul_target: str | None = None
    unanswered_enabled: bool = False
    unanswered_target: str | None = None
    ring_delay: int = DEFAULT_UCWA_RING_DELAY

    def view(self) -> dict[str, Any]:
        return {
            "applicationId": self.application_id,
            "token": self.token,
            "orgId": self.org_id,
            "errors": dict(self.errors),
        }


DEFAULT_BOT_APP_ID = "sandbox-bot"


@dataclass
class GraphLine:
    line_id: str
    org_id: str
    callback_url: str
    api_version: str  # "v1.0" | "beta"
    identity_type: str  # application | applicationInstance | user
    display_name: str
    app_id: str = DEFAULT_BOT_APP_ID  # the bot application: ``aud`` of notification tokens

    def view(self) -> dict[str, Any]:
        return {
            "lineId": self.line_id,
            "orgId": self.org_id,
            "callbackUrl": self.callback_url,
            "apiVersion": self.api_version,
            "identityType": self.identity_type,
            "displayName": self.display_name,
            "appId": self.app_id,
        }


@dataclass
class GraphCall:
    id: str
    line: GraphLine
    caller: str
    deadline_ms: int
    my_participant_id: str
    correlation_id: str
    caller_display_name: str = ""
    created_at: float = field(default_factory=time.time)
    state: str = "incoming"  # incoming | redirecting | terminated
    outcome: str | None = None  # answered | unanswered
    redirect: Any = None
    redirect_callback_uri: str | None = None
    answered_by: Any = None
    redirect_at: float | None = None
    notified_at: float | None = None  # when the incoming notification was sent
    notifications: list[dict[str, Any]] = field(default_factory=list)
    etag: int = 0
    cancelled: bool = False
    # Wakes the call's notifier thread when a redirect arrives (or on reset).
    wakeup: threading.Event = field(default_factory=threading.Event)

    @property
    def deadline_at(self) -> float | None:
        return None if self.notified_at is None else self.notified_at + self.deadline_ms / 1000

    def view(self) -> dict[str, Any]:
        to_redirect = None
        if self.redirect_at is not None and self.notified_at is not None:
            to_redirect = round((self.redirect_at - self.notified_at) * 1000, 3)
        return {
            "id": self.id,
            "lineId": self.line.line_id,
            "orgId": self.line.org_id,
            "caller": self.caller,
            "apiVersion": self.line.api_version,
            "deadlineMs": self.deadline_ms,
            "createdAt": self.created_at,
            "state": self.state,
            "outcome": self.outcome,
            "redirect": copy.deepcopy(self.redirect),
            "answeredBy": copy.deepcopy(self.answered_by),
            "notificationToRedirectMs": to_redirect,
            "notifications": [dict(n) for n in self.notifications],
        }


def _parse_logged_body(raw: bytes | None) -> Any:
    """The logged body as JSON, or None when absent or not valid JSON."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        return None


class SandboxState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.limits = RateLimits()
        self.faults = FaultRegistry()
        self.receivers = EventReceivers()
        self.keys = KeyRing()  # survives reset (see keys.py)
        self._seq = itertools.count(1)
        self._init_data()

    def _init_data(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.people: dict[str, WebexPerson] = {}
        self.ucwa_apps: dict[str, UcwaApp] = {}
        self.lines: dict[str, GraphLine] = {}
        self.calls: dict[str, GraphCall] = {}
        self.identity = IdentityState()
        self.request_log: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=REQUEST_LOG_SIZE
        )
        self.request_count = 0
        self.by_status: collections.Counter[str] = collections.Counter()
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.max_concurrent: dict[str, int] = {}

    def reset(self) -> None:
        with self.lock:
            for call in self.calls.values():
                # Stop notifier threads of old calls so that they do not post
                # into the next test's callback receiver.
                call.cancelled = True
                call.wakeup.set()
            self._init_data()
            self._seq = itertools.count(1)
        self.limits.clear()
        self.faults.clear()
        self.receivers.clear()

    # --- request log and concurrency stats ---------------------------------

    def begin_request(self, person_id: str | None) -> int:
        with self.lock:
            seq = next(self._seq)
            if person_id is not None:
                self.in_flight[person_id] += 1
                current = self.in_flight[person_id]
                if current > self.max_concurrent.get(person_id, 0):
                    self.max_concurrent[person_id] = current
            return seq

    def end_request(self, seq: int, entry: dict[str, Any]) -> None:
        person_id = entry.get("personId")
        with self.lock:
            if person_id is not None and self.in_flight[person_id] > 0:
                self.in_flight[person_id] -= 1
                if self.in_flight[person_id] == 0:
                    del self.in_flight[person_id]
            entry["seq"] = seq
            self.request_log.append(entry)
            self.request_count += 1
            self.by_status[str(entry["status"])] += 1

    def requests_view(self, since: int | None, path_part: str | None) -> list[dict[str, Any]]:
        with self.lock:
            entries = list(self.request_log)
        # Entries are appended when a request completes but numbered when it
        # arrives, so sort to present them oldest first by arrival.
        entries.sort(key=lambda e: e["seq"])
        if since is not None:
            entries = [e for e in entries if e["seq"] > since]
        if path_part:
            entries = [e for e in entries if path_part in e["path"]]
        return [{**e, "body": _parse_logged_body(e["body"])} for e in entries]

    def stats_view(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.request_count,
                "byStatus": dict(self.by_status),
                "maxConcurrentPerPerson": dict(self.max_concurrent),
                "inFlightPerPerson": dict(self.in_flight),
                "identity": self.identity.stats_view(),
            }
