"""Every write to tenancy data: delegations and invitations. Each runs in one transaction
with its audit row."""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from portal import audit
from portal.emails import AsciiLower, normalize_email, same_address
from portal.models import Delegation, Invitation, Membership, Organization, User

INVITATION_LIFETIME = timedelta(days=7)


@transaction.atomic
def delegation_grant(*, customer: Organization, partner: Organization, actor: audit.Actor):
    if customer.id == partner.id:
        raise ValidationError({"partner_code": "An organization cannot delegate to itself."})
    if Delegation.objects.active().filter(customer=customer, partner=partner).exists():
        raise ValidationError({"partner_code": f"{partner.name} already has a delegation."})
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
    # Stored normalized (portal.emails): the invitation is later matched to an account by
    # exact comparison with this value, never by the database's case-folding.
    email = normalize_email(email)
    if account_for_address(email, org=org) is not None:
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
        f"Open this link to join (it is valid for 7 days). If you already have an account, "
        f"you will be asked to sign in first:\n{link}\n",
        None, [email],
    ))
    return invitation, token


def account_for_address(email, *, org=None):
    """The account whose address is `email` after normalization (exact match), optionally
    only among the members of `org`; None when there is none."""
    users = User.objects.alias(address=AsciiLower("email")).filter(
        address=normalize_email(email))
    if org is not None:
        users = users.filter(memberships__org=org)
    return users.first()


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
    """Accept an invitation for an address that has no account yet: the account is
    created with `password`. The link is only proof that its holder read the invitation,
    so it never signs anybody into an account that already exists: for such an address
    this refuses, and the person signs in and uses `invitation_accept_signed_in`."""
    invitation = _open_for_update(invitation)
    if account_for_address(invitation.email) is not None:
        raise ValidationError(
            "An account with this address already exists: sign in to accept the invitation.")
    user = User(username=invitation.email[:150], email=invitation.email)
    user.set_password(password)
    try:
        with transaction.atomic():  # a savepoint: a concurrent sign-up of the same address
            user.save()
    except IntegrityError:
        raise ValidationError(
            "An account with this address already exists: sign in to accept the invitation."
        ) from None
    # The link reached this mailbox, which proves the address of the new account.
    EmailAddress.objects.update_or_create(
        user=user, email=invitation.email, defaults={"verified": True, "primary": True}
    )
    _join(invitation, user, ip=ip)
    return user


@transaction.atomic
def invitation_accept_signed_in(*, invitation: Invitation, user: User, ip=None):
    """Accept an invitation as `user`, who signed in normally (password, then TOTP where
    turned on). Only the account whose address is the invited one may accept it."""
    invitation = _open_for_update(invitation)
    if not same_address(user.email, invitation.email):
        raise ValidationError("This invitation is for another email address.")
    _join(invitation, user, ip=ip)
    return user


def _open_for_update(invitation):
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already used.")
    if invitation.expires_at < timezone.now():
        raise ValidationError("This invitation has expired.")
    return invitation


def _join(invitation, user, *, ip):
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
