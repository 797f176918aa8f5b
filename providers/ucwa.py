"""Skype for Business UCWA: the signed-in user's call forwarding settings (seed 000).

UCWA exposes operations, not a document: one primary mode at a time (immediate forward,
or simultaneous ring and/or unanswered-call forwarding). A push turns forwarding off and
then applies the desired operations, so the end state never depends on the previous one.
Targets are tel: or sip: URIs of at most 80 characters (`UCWA.destination_max_length`,
counting the tel: that `to_uri` puts before a number; validation refuses longer ones).
"""

from __future__ import annotations

from urllib.parse import quote

from .addresses import AddressError, normalize_sip
from .base import Connection, ForwardingState, Provider, ProviderError, PushResult
from .capabilities import UCWA
from .http import error_message, json_or_empty, send

# One name in every sentence (timeouts, refusals): the capabilities' label.
LABEL = UCWA.label

# (status, subcode) -> what a person can act on. Subcodes come from the seed.
_MESSAGES = {
    (403, None): f"{LABEL} refused: this person is not enabled for Enterprise Voice, or the "
                 "administrator has disabled call forwarding to custom numbers",
    (409, "AlreadyExists"): f"{LABEL} refused: this forwarding already exists",
    (409, "TooManyGroups"): f"{LABEL} refused: the person belongs to too many groups",
    (409, None): f"{LABEL} refused: the server does not support this operation",
    (410, "CannotRedirect"): f"{LABEL} cannot redirect calls: no backup pool is configured",
    (500, "CallbackChannelError"): f"{LABEL} could not reach its event channel",
    (401, None): f"{LABEL} refused the portal's credentials; an admin must reconnect",
    (404, None): f"{LABEL} does not know this person's application",
    (400, "ParameterValidationFailure"): f"{LABEL} refused a destination",
}


def _describe(response):
    body = json_or_empty(response)
    subcode = body.get("subcode")
    status = response.status_code
    message = error_message(
        LABEL, status, _MESSAGES.get((status, subcode)) or _MESSAGES.get((status, None)),
        body.get("message"))
    # The seed's 409 and 410 errors will not go away by themselves: permanent.
    permanent = None if status != 500 else False
    if status in (409, 410):
        permanent = True
    return message, permanent


def to_uri(destination: str) -> str:
    """The target UCWA takes for a stored destination: a sip: URI as it is, a number or
    an extension as a tel: URI."""
    if destination.lower().startswith(("tel:", "sip:", "sips:")):
        return destination
    if "@" in destination:
        return f"sip:{destination}"
    return f"tel:{destination}"


def from_uri(uri: str | None) -> str:
    """A target read back in the stored form of destinations (providers.addresses), so a
    pushed state and what UCWA holds compare equal: tel: dropped, a SIP URI's scheme and
    host in lower case."""
    if not uri:
        return ""
    if uri.lower().startswith("tel:"):
        return uri[4:]
    if uri.lower().startswith(("sip:", "sips:")):
        try:
            return normalize_sip(uri)
        except AddressError:
            return uri
    return uri


def plan(state: ForwardingState):
    """The operations (path, params) that bring UCWA to `state`, in order."""
    ops = [("turnOffCallForwarding", {})]
    if state.always_enabled and state.always_destination:
        ops.append(("immediateForwardSettings/immediateForwardToContact",
                    {"target": to_uri(state.always_destination)}))
        return ops
    if state.simring_enabled and state.simring_targets:
        if len(state.simring_targets) > UCWA.simring_max_targets:
            # Validation refuses more (the capability says so); never drop one silently.
            raise ProviderError(
                f"{LABEL} rings at most {UCWA.simring_max_targets} simultaneous-ring target; "
                f"{len(state.simring_targets)} were asked for.", permanent=True)
        ops.append(("simultaneousRingSettings/simultaneousRingToContact",
                    {"target": to_uri(state.simring_targets[0])}))
    if state.no_answer_enabled and state.no_answer_destination:
        params = {"target": to_uri(state.no_answer_destination)}
        if state.no_answer_ring_after is not None:
            params["ringDelay"] = state.no_answer_ring_after
        ops.append(("unansweredCallSettings/unansweredCallToContact", params))
    return ops


class UcwaProvider(Provider):
    kind = "ucwa"

    def _base(self, conn: Connection, person_ref: str):
        return (f"{conn.base_url.rstrip('/')}/applications/{quote(person_ref, safe='')}"
                f"/me/callForwardingSettings")

    def push(self, conn, person_ref, state):
        headers = {"Authorization": f"Bearer {conn.token}"}
        base = self._base(conn, person_ref)
        ops = plan(state)
        for done, (path, params) in enumerate(ops):
            try:
                send("POST", f"{base}/{path}", params=params, headers=headers,
                     provider_label=LABEL, describe_error=_describe,
                     timeout=conn.options.get("timeout"))
            except ProviderError as exc:
                exc.requests_sent = done + 1
                raise
        return PushResult(status_code=204, requests=len(ops),
                          summary=" + ".join(p.rsplit("/", 1)[-1] for p, _ in ops))

    def fetch(self, conn, person_ref):
        response = send("GET", self._base(conn, person_ref),
                        headers={"Authorization": f"Bearer {conn.token}"},
                        provider_label=LABEL, describe_error=_describe,
                        timeout=conn.options.get("timeout"))
        body = json_or_empty(response)
        active = body.get("activeSetting")
        unanswered = bool(body.get("unansweredCallEnabled"))
        return ForwardingState(
            always_enabled=active == "immediateForward",
            always_destination=from_uri(body.get("immediateForwardTarget")),
            simring_enabled=active == "simultaneousRing",
            simring_targets=tuple(
                [from_uri(body.get("simultaneousRingTarget"))]
                if body.get("simultaneousRingTarget") else []
            ),
            no_answer_enabled=unanswered,
            no_answer_destination=from_uri(body.get("unansweredCallTarget")) if unanswered else "",
            no_answer_ring_after=body.get("ringDelay") if unanswered else None,
        )
