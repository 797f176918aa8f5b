"""Writing audit rows. Services call `record` inside their own transaction, so a change
and its audit row are committed together or not at all."""

import uuid
from dataclasses import dataclass, field

from portal.clientip import client_ip
from portal.models import AuditEvent


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


def record(*, event, actor, org=None, person=None, old=None, new=None, data=None):
    return AuditEvent.objects.create(
        event=event,
        org=org if org is not None else getattr(person, "org", None),
        actor=actor.user,
        actor_label=actor.label[:200],
        via_partner=actor.via_partner,
        ip=actor.ip,
        person=person,
        person_label=(person.display_name if person is not None else "")[:200],
        old=old,
        new=new,
        data=data or {},
        correlation_id=actor.correlation_id,
    )


def actor_from_request(request, *, via_partner=None):
    return Actor.for_user(request.user, ip=client_ip(request), via_partner=via_partner)
