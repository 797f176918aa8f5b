"""Every write to tenancy data: delegations and invitations. Each runs in one transaction
with its audit row."""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import audit
from portal.models import Delegation, Invitation, Membership, Organization, User

INVITATION_LIFETIME = timedelta(days=7)


@transaction.atomic
def delegation_grant(*, customer: Organization, partner: Organization, actor: audit.Actor):
    if customer.id == partner.id:
        raise ValidationError({"partner": "An organization cannot delegate to itself."})
    if Delegation.objects.active().filter(customer=customer, partner=partner).exists():
        raise ValidationError({"partner": f"{partner.name} already has a delegation."})
    delegation = Delegation.objects.create(
        customer=customer, partner=partner, granted_by=actor.user
    )
    audit.record(
        event="delegation.granted", actor=actor, org=customer,
        new={"partner": partner.name, "partner_id": partner.id},
    )
    return delegation


@transaction.atomic
def delegation_revoke(*, delegation: Delegation, actor: audit.Actor):
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if delegation.revoked_at is not None:
        return delegation
    delegation.revoked_at = timezone.now()
    delegation.revoked_by = actor.user
    delegation.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        event="delegation.revoked", actor=actor, org=delegation.customer,
        old={"partner": delegation.partner.name, "partner_id": delegation.partner_id},
    )
    return delegation


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(*, org, email, role, person=None, actor: audit.Actor):
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email, memberships__org=org).exists():
        raise ValidationError({"email": "This person is already a member of the organization."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        org=org, email=email, role=role, person=person, token_hash=_token_hash(token),
        invited_by=actor.user, expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit.record(
        event="invitation.created", actor=actor, org=org, person=person,
        new={"email": email, "role": role},
    )
    link = settings.PUBLIC_URL + reverse("invitation_accept", args=[token])
    # Sent after commit: an email must never announce an invitation that was rolled back.
    transaction.on_commit(lambda: send_mail(
        f"You are invited to manage call forwarding at {org.name}",
        f"{actor.label} invited you to the call forwarding portal of {org.name}.\n\n"
        f"Choose your password here (the link is valid for 7 days):\n{link}\n",
        None, [email],
    ))
    return invitation, token


def invitation_lookup(token):
    """The open invitation for `token`, or None when unknown, used or expired."""
    try:
        invitation = Invitation.objects.select_related("org").get(token_hash=_token_hash(token))
    except Invitation.DoesNotExist:
        return None
    if invitation.accepted_at is not None or invitation.expires_at < timezone.now():
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str, ip=None):
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already used.")
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = User(username=invitation.email[:150], email=invitation.email)
        user.set_password(password)
        user.save()
    # The link reached this mailbox, which proves the address.
    EmailAddress.objects.update_or_create(
        user=user, email=invitation.email, defaults={"verified": True, "primary": True}
    )
    Membership.objects.get_or_create(user=user, org=invitation.org,
                                     defaults={"role": invitation.role})
    if invitation.person is not None and invitation.person.user_id is None:
        invitation.person.user = user
        invitation.person.save(update_fields=["user"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(
        event="invitation.accepted", actor=audit.Actor.for_user(user, ip=ip),
        org=invitation.org, person=invitation.person,
        new={"email": invitation.email, "role": invitation.role},
    )
    return user
