"""Webex Calling: a person's call forwarding settings (seed 001), and with them the rest of
the person's forwarding (selective forward, simultaneous ring, schedules, do not disturb).

GET/PUT {base}/people/{personId}/features/callForwarding[?orgId=]. A partner acting for
a customer uses its own token and the customer's orgId.

With `Connection.options["person_settings"]` (set by the push pipeline when the org's
capabilities say Webex holds caller rules natively) a push writes every resource
(`providers.webex_push`) and a read-back reads them all; without it only
callForwarding travels, as before issue 16.
"""

from __future__ import annotations

from urllib.parse import quote

from .base import Connection, ForwardingState, Provider, PushResult
from .capabilities import WEBEX
from .http import error_message, json_or_empty, send

# One name in every sentence (timeouts, refusals): the capabilities' label.
LABEL = WEBEX.label

_STATUS_WORDS = {
    400: f"{LABEL} refused the settings",
    401: f"{LABEL} refused the portal's credentials; an admin must reconnect the organization",
    403: f"{LABEL} refused: the portal may not change this person's settings "
         "(check the token's scope or the partner's access to this org)",
    404: f"{LABEL} does not know this person (were they removed from {LABEL}?)",
    409: f"{LABEL} refused the change as conflicting",
    423: f"{LABEL} has this person's settings locked for now",
    429: f"{LABEL} asked the portal to slow down",
}


def error_detail(response):
    """Webex's own words for an error: `message`, else the first `errors[].description`
    (not necessarily a string: error_message keeps only strings)."""
    body = json_or_empty(response)
    detail = body.get("message")
    errors = body.get("errors")
    if not isinstance(detail, str) or not detail:
        detail = ""
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = errors[0].get("description")
    return detail


def _describe(response):
    detail = error_detail(response)
    return error_message(LABEL, response.status_code,
                         _STATUS_WORDS.get(response.status_code), detail), None


def to_wire(state: ForwardingState) -> dict:
    no_answer = {
        "enabled": state.no_answer_enabled,
        "destination": state.no_answer_destination,
        "destinationVoicemailEnabled": state.no_answer_voicemail,
    }
    if state.no_answer_ring_after is not None:
        no_answer["numberOfRings"] = state.no_answer_ring_after
    return {
        "callForwarding": {
            "always": {
                "enabled": state.always_enabled,
                "destination": state.always_destination,
                "ringReminderEnabled": state.always_ring_reminder,
                "destinationVoicemailEnabled": state.always_voicemail,
            },
            "busy": {
                "enabled": state.busy_enabled,
                "destination": state.busy_destination,
                "destinationVoicemailEnabled": state.busy_voicemail,
            },
            "noAnswer": no_answer,
        },
        "businessContinuity": {
            "enabled": state.continuity_enabled,
            "destination": state.continuity_destination,
            "destinationVoicemailEnabled": state.continuity_voicemail,
        },
    }


def from_wire(body: dict) -> ForwardingState:
    cf = body.get("callForwarding") or {}
    always, busy, no_answer = (cf.get(k) or {} for k in ("always", "busy", "noAnswer"))
    bc = body.get("businessContinuity") or {}
    return ForwardingState(
        always_enabled=bool(always.get("enabled")),
        always_destination=always.get("destination") or "",
        always_ring_reminder=bool(always.get("ringReminderEnabled")),
        always_voicemail=bool(always.get("destinationVoicemailEnabled")),
        busy_enabled=bool(busy.get("enabled")),
        busy_destination=busy.get("destination") or "",
        busy_voicemail=bool(busy.get("destinationVoicemailEnabled")),
        no_answer_enabled=bool(no_answer.get("enabled")),
        no_answer_destination=no_answer.get("destination") or "",
        no_answer_ring_after=no_answer.get("numberOfRings"),
        no_answer_voicemail=bool(no_answer.get("destinationVoicemailEnabled")),
        continuity_enabled=bool(bc.get("enabled")),
        continuity_destination=bc.get("destination") or "",
        continuity_voicemail=bool(bc.get("destinationVoicemailEnabled")),
    )


class WebexProvider(Provider):
    kind = "webex"

    def _url(self, conn: Connection, person_ref: str):
        person = quote(person_ref, safe="")
        url = f"{conn.base_url.rstrip('/')}/people/{person}/features/callForwarding"
        params = {"orgId": conn.acting_org_id} if conn.acting_org_id else None
        return url, params

    def _headers(self, conn):
        return {"Authorization": f"Bearer {conn.token}"}

    def put_call_forwarding(self, conn, person_ref, body: dict):
        url, params = self._url(conn, person_ref)
        return send("PUT", url, params=params, json=body,
                    headers=self._headers(conn), provider_label=LABEL, describe_error=_describe,
                    timeout=conn.options.get("timeout"))

    def push(self, conn, person_ref, state):
        if conn.options.get("person_settings"):
            # Imported here: webex_push reads Webex's error words from this module.
            from .webex_push import push_person
            return push_person(conn, person_ref, state, to_wire=to_wire,
                               put_call_forwarding=self.put_call_forwarding)
        response = self.put_call_forwarding(conn, person_ref, to_wire(state))
        return PushResult(status_code=response.status_code,
                          tracking_id=response.headers.get("TrackingID", ""),
                          summary="PUT callForwarding")

    def fetch(self, conn, person_ref):
        url, params = self._url(conn, person_ref)
        response = send("GET", url, params=params, headers=self._headers(conn),
                        provider_label=LABEL, describe_error=_describe,
                        timeout=conn.options.get("timeout"))
        state = from_wire(json_or_empty(response))
        if conn.options.get("person_settings"):
            from .webex_push import fetch_person
            state, _ = fetch_person(conn, person_ref, call_forwarding=state)
        return state

    def comparable(self, state) -> dict | None:
        """The normal form of everything Webex holds for `state` (drift compares it)."""
        from .webex_compile import comparable_resources
        return comparable_resources(state)

    def inexpressible(self, state) -> list[str]:
        from .webex_compile import inexpressible
        return inexpressible(state)
