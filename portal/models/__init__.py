from .audit import AuditEvent, AuditQuerySet
from .connections import (
    ConnectionHour,
    ConnectionMethod,
    ConnectionState,
    ProviderConnection,
)
from .events import (
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
    OutgoingEvent,
)
from .tenancy import Delegation, Invitation, Membership, Organization, Person, User

__all__ = [
    "AuditEvent",
    "AuditQuerySet",
    "ConnectionHour",
    "ConnectionMethod",
    "ConnectionState",
    "ProviderConnection",
    "Delegation",
    "DeliveryAttempt",
    "DeliveryStatus",
    "EventDelivery",
    "EventEndpoint",
    "OutgoingEvent",
    "Invitation",
    "Membership",
    "Organization",
    "Person",
    "User",
]
