from .audit import AuditEvent, AuditQuerySet
from .connections import (
    ConnectionHour,
    ConnectionMethod,
    ConnectionState,
    ProviderConnection,
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
    "Invitation",
    "Membership",
    "Organization",
    "Person",
    "User",
]
