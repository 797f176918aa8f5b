"""Writing audit rows. Services call `record` inside their own transaction, so a change
and its audit row are committed together or not at all."""

import uuid
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone

from portal.clientip import client_ip
from portal.events import outbox
from portal.models import AuditEvent
from portal.rowsets import insert_rows


class Event(models.TextChoices):
    """Every audit event code, with the words pages, the API and exports show for it.
    `record` refuses a code that is not here, so a new event cannot ship unlabelled."""

    FORWARDING_UPDATED = "forwarding.updated", "Settings changed"
    FORWARDING_RESTORED = "forwarding.restored", "Earlier version restored"
    WINDOW_STARTED = "forwarding.window_started", "Time window started"
    WINDOW_ENDED = "forwarding.window_ended", "Time window ended"
    PUSH_SUCCEEDED = "push.succeeded", "Delivered to the provider"
    PUSH_RETRYING = "push.retrying", "Delivery will be retried"
    PUSH_FAILED = "push.failed", "Delivery failed"
    PUSH_RETRY_REQUESTED = "push.retry_requested", "Delivery retried by hand"
    DRIFT_DETECTED = "drift.detected", "Changed in the provider's console"
    DRIFT_ADOPTED = "drift.adopted", "Provider's settings adopted"
    DRIFT_OVERRIDDEN = "drift.overridden", "Portal's settings pushed over the provider's"
    CALL_REDIRECTED = "call.redirected", "Call redirected"
    CALL_REDIRECT_FAILED = "call.redirect_failed", "Call could not be redirected"
    MANIFEST_DOWNLOADED = "manifest.downloaded", "Lync manifest downloaded"
    BULK_JOB_CREATED = "bulk.job_created", "Bulk job started"
    BULK_JOB_FINISHED = "bulk.job_finished", "Bulk job finished"
    BULK_JOB_STOPPED = "bulk.job_stopped", "Bulk job stopped"
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    DELEGATION_GRANTED = "delegation.granted", "Partner access granted"
    DELEGATION_REVOKED = "delegation.revoked", "Partner access revoked"
    MEMBERSHIP_REMOVED = "membership.removed", "Removed from the organization"
    PERSON_UNLINKED = "person.unlinked", "Account unlinked from a line"
    PERSON_TIME_ZONE_CHANGED = "person.time_zone_changed", "Time zone changed"
    ORGANIZATION_CREATED = "organization.created", "Organization created"
    ORGANIZATION_UPDATED = "organization.updated", "Organization changed"
    MEMBER_PERMISSIONS_UPDATED = ("org.member_permissions_updated",
                                  "What members may change themselves changed")
    WEBHOOK_KEY_ROTATED = "org.webhook_key_rotated", "Teams webhook address changed"
    ENCRYPTION_ROTATED = "encryption.rotated", "Stored secrets re-encrypted"
    RETENTION_PRUNED = "retention.pruned", "Old records pruned"
    CONNECTION_CONNECTED = "connection.connected", "Provider connected"
    CONNECTION_RENEWED = "connection.renewed", "Provider token renewed"
    CONNECTION_RENEWAL_FAILED = "connection.renewal_failed", "Provider token not renewed"
    CONNECTION_NEEDS_REAUTHORIZATION = ("connection.needs_reauthorization",
                                        "Provider connection needs re-authorization")
    CONNECTION_DISCONNECTED = "connection.disconnected", "Provider disconnected"
    IDENTITY_LINKED = "account.identity_linked", "Work account linked for sign-in"
    # Emitted by the destination policy (issue 18 items 1-2) when it refuses a change.
    POLICY_VIOLATION_REFUSED = "policy.violation_refused", "Change refused by the org's policy"
    POLICY_UPDATED = "policy.updated", "Destination policy changed"
    POLICY_EXCEPTION_GRANTED = "policy.exception_granted", "Policy exception granted"
    POLICY_EXCEPTION_REVOKED = "policy.exception_revoked", "Policy exception revoked"
    EVENT_ENDPOINT_CREATED = "event_endpoint.created", "Event endpoint added"
    EVENT_ENDPOINT_SECRET_ROTATED = "event_endpoint.secret_rotated", "Event endpoint secret rotated"
    EVENT_ENDPOINT_ENABLED = "event_endpoint.enabled", "Event endpoint enabled"
    EVENT_ENDPOINT_DISABLED = "event_endpoint.disabled", "Event endpoint disabled"
    EVENT_ENDPOINT_DELETED = "event_endpoint.deleted", "Event endpoint removed"
    EVENT_ENDPOINT_TESTED = "event_endpoint.tested", "Test event sent"


# The audit codes that are also announced to an org's event endpoints (docs/events.md),
# with the audit row as the event's data. The rest stay in the audit log (and its export).
ANNOUNCED = frozenset({
    Event.FORWARDING_UPDATED, Event.FORWARDING_RESTORED, Event.PUSH_SUCCEEDED,
    Event.PUSH_FAILED, Event.DRIFT_DETECTED, Event.DRIFT_ADOPTED, Event.DRIFT_OVERRIDDEN,
    Event.BULK_JOB_FINISHED, Event.DELEGATION_GRANTED, Event.DELEGATION_REVOKED,
    Event.CONNECTION_CONNECTED, Event.CONNECTION_NEEDS_REAUTHORIZATION,
    Event.CONNECTION_DISCONNECTED, Event.POLICY_VIOLATION_REFUSED, Event.POLICY_UPDATED,
    Event.POLICY_EXCEPTION_GRANTED, Event.POLICY_EXCEPTION_REVOKED,
})


def event_label(code: str) -> str:
    """The words for an event code; an unknown (historic) code shows as itself."""
    try:
        return Event(code).label
    except ValueError:
        return code


@dataclass(frozen=True)
class Actor:
    """Who acts, from where, and on whose behalf: built once per request or task."""

    user: object = None  # a User, or None for the system
    label: str = "system"
    ip: str | None = None
    via_partner: object = None  # the partner Organization when acting through a delegation
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def for_user(cls, user, *, ip=None, via_partner=None, correlation_id=None):
        label = user.email or user.username
        if via_partner is not None:
            label = f"{label} (partner {via_partner.name})"
        return cls(
            user=user, label=label, ip=ip, via_partner=via_partner,
            correlation_id=correlation_id or uuid.uuid4().hex,
        )

    @classmethod
    def system(cls, label="system", correlation_id=None):
        return cls(label=label, correlation_id=correlation_id or uuid.uuid4().hex)

    def with_partner(self, via_partner):
        if via_partner is None or self.user is None:
            return self
        return Actor.for_user(
            self.user, ip=self.ip, via_partner=via_partner, correlation_id=self.correlation_id
        )


def _row(*, event, actor, org=None, person=None, old=None, new=None, data=None) -> AuditEvent:
    event = Event(event)  # ValueError for a code missing from the registry
    return AuditEvent(**_columns(event, actor, org, person, old, new, data))


def record(*, event, actor, org=None, person=None, old=None, new=None, data=None):
    """Write the audit row; for an announced code, also the outgoing event and its
    deliveries to the org's endpoints, in the caller's transaction (portal.events)."""
    row = _row(event=event, actor=actor, org=org, person=person, old=old, new=new, data=data)
    # One statement built once per process: the ORM compiled each INSERT anew, about
    # 1 ms of CPU, the dearest part of a push's bookkeeping.
    insert_rows(AuditEvent, [row])
    if row.event in ANNOUNCED and row.org_id is not None:
        outbox.announce(row, label=Event(row.event).label)
    return row


def record_many(entries: list[dict]) -> list[AuditEvent]:
    """`record` for many rows (each a dict of record's keyword arguments) with one INSERT,
    and one more per table for the announced ones (their outgoing events and deliveries,
    portal.events.outbox.announce_many); same rows, same promises, in the caller's
    transaction. Every code is checked before anything is written."""
    rows = insert_rows(AuditEvent, [_row(**entry) for entry in entries])
    announced = [row for row in rows if row.event in ANNOUNCED and row.org_id is not None]
    if announced:
        outbox.announce_many(announced, label_of=event_label)
    return rows


def row_values(*, event, actor, org=None, person=None, old=None, new=None, data=None) -> dict:
    """The audit row `record` would write, as AuditEvent field name -> value (created_at
    included), for a hot path that writes it in a statement of its own: the Graph bot
    writes a redirect's outcome and its audit row in one (forwarding.calltime.storage).
    Only for codes that are not announced: an announced code needs its outgoing event,
    which only `record` writes."""
    event = Event(event)
    if event in ANNOUNCED:
        raise ValueError(f"{event.value} is announced: write it with audit.record")
    return {"created_at": timezone.now(), **_columns(event, actor, org, person, old, new, data)}


def _columns(event, actor, org, person, old, new, data) -> dict:
    return {
        "event": event.value,
        "org": org if org is not None else getattr(person, "org", None),
        "actor": actor.user,
        "actor_label": actor.label[:200],
        "via_partner": actor.via_partner,
        "ip": actor.ip,
        "person": person,
        "person_label": (person.display_name if person is not None else "")[:200],
        "old": old,
        "new": new,
        "data": data or {},
        "correlation_id": actor.correlation_id,
    }


def actor_from_request(request, *, via_partner=None):
    return Actor.for_user(request.user, ip=client_ip(request), via_partner=via_partner)
