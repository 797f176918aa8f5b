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

from dataclasses import replace
from urllib.parse import quote

from .base import Connection, Provider, PushResult
from .capabilities import WEBEX
from .http import error_message, json_or_empty, send
from .webex_compile import inexpressible
from .webex_push import fetch_person, push_person
from .webex_readback import comparable_parts
from .webex_wire import error_detail, from_wire, to_wire

__all__ = ["LABEL", "WebexProvider", "error_detail", "from_wire", "to_wire"]

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


def _describe(response):
    detail = error_detail(response)
    return error_message(LABEL, response.status_code,
                         _STATUS_WORDS.get(response.status_code), detail), None


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
            state, problems = fetch_person(conn, person_ref, call_forwarding=state)
            state = replace(state, readback_problems=tuple(problems))
        return state

    def comparable(self, state):
        """(call forwarding as Webex holds it for `state`, the normal form of the other
        resources): drift compares both."""
        return comparable_parts(state)

    def inexpressible(self, state) -> list[str]:
        return inexpressible(state)
