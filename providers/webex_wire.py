"""Webex call forwarding's wire form (seed 001) and Webex's error words: shared by the
call-forwarding adapter (providers.webex) and the person-settings modules."""

from __future__ import annotations

from .base import ForwardingState
from .http import json_or_empty


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
