from .audit import AuditEvent, AuditQuerySet
from .tenancy import Delegation, Invitation, Membership, Organization, Person, User

__all__ = [
    "AuditEvent",
    "AuditQuerySet",
    "Delegation",
    "Invitation",
    "Membership",
    "Organization",
    "Person",
    "User",
]
