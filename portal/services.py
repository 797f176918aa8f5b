"""Every write to tenancy data: delegations, invitations, memberships, the link between
an account and a line, the Graph webhook key. Each runs in one transaction with its audit
row.

Withdrawing access (revoking a delegation, removing a member, unlinking a line) sends
`signals.access_withdrawn` in the same transaction: the forwarding side stops the work it
keeps on behalf of whoever lost access (forwarding.bulk.revocation), and what it did is part
of the audit row.
"""

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

from portal import audit, signals
from portal.emails import AsciiLower, normalize_email, same_address
from portal.models import Delegation, Invitation, Membership, Organization, Person, User
from portal.timezones import validate_time_zone

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
        event=audit.Event.DELEGATION_GRANTED, actor=actor, org=customer,
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
    customer, partner = delegation.customer, delegation.partner
    effects = _withdraw(org=customer, partner=partner, actor=actor,
                        reason=f"The delegation to {partner.name} was revoked by {actor.label}.")
    audit.record(
        event=audit.Event.DELEGATION_REVOKED, actor=actor, org=customer,
        old={"partner": partner.name, "partner_id": partner.pk}, data=effects,
    )
    return delegation


def _withdraw(*, org, actor, reason, partner=None, user=None) -> dict:
    """Tell the apps that keep work on someone's behalf that access is gone; what they
    did, merged, for the audit row."""
    effects = {}
    for _receiver, result in signals.access_withdrawn.send(
            sender=Organization, org=org, partner=partner, user=user, actor=actor,
            reason=reason):
        effects.update(result or {})
    return effects


@transaction.atomic
def membership_remove(*, membership: Membership, actor: audit.Actor) -> dict:
    """Offboarding: the user leaves the org. Their lines in it are unlinked from their
    account (else they would still reach those people's settings as their owner), and
    the work they keep running on the org stops. The org keeps at least one admin."""
    membership = (Membership.objects.select_for_update().select_related("user", "org")
                  .get(pk=membership.pk))
    org, user = membership.org, membership.user
    if membership.role == Membership.ADMIN:
        # Locks every admin row of the org: two admins removing each other at once
        # cannot leave it with none.
        admins = list(Membership.objects.select_for_update()
                      .filter(org=org, role=Membership.ADMIN).values_list("pk", flat=True))
        if len(admins) <= 1:
            raise ValidationError(
                f"{user} is the only admin of {org.name}; make someone else an admin first.")
    lines = list(Person.objects.select_for_update().filter(org=org, user=user))
    for person in lines:
        _unlink(person=person, user=user, actor=actor)
    membership.delete()
    effects = _withdraw(org=org, user=user, actor=actor,
                        reason=f"{user} was removed from {org.name} by {actor.label}.")
    audit.record(
        event=audit.Event.MEMBERSHIP_REMOVED, actor=actor, org=org,
        old={"user": str(user), "user_id": user.pk, "role": membership.role},
        data={"lines_unlinked": [p.pk for p in lines], **effects},
    )
    return effects


@transaction.atomic
def person_unlink(*, person: Person, actor: audit.Actor) -> bool:
    """Offboarding of one line: the account linked to it no longer owns it (the person
    and their settings stay, for their admins). False when no account was linked."""
    person = (Person.objects.select_for_update(of=("self",)).select_related("org", "user")
              .get(pk=person.pk))
    user = person.user
    if user is None:
        return False
    _unlink(person=person, user=user, actor=actor)
    # Owning a line gives no bulk work, so this stops a job only of a user who reached
    # the org by this line alone (access.still_reaches decides).
    _withdraw(org=person.org, user=user, actor=actor,
              reason=f"{user} was unlinked from {person.display_name} by {actor.label}.")
    return True


@transaction.atomic
def person_time_zone_update(*, person: Person, time_zone: str, actor: audit.Actor) -> Person:
    """Set the zone `person` enters and reads times in (blank: their org's). Stored
    instants (a time window) stay the same instants; only how they read changes."""
    person = Person.objects.select_for_update(of=("self",)).select_related("org").get(
        pk=person.pk)
    old = person.time_zone
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None
    if old == time_zone:
        return person
    person.time_zone = time_zone
    person.save(update_fields=["time_zone"])
    audit.record(event=audit.Event.PERSON_TIME_ZONE_CHANGED, actor=actor, person=person,
                 old={"time_zone": old}, new={"time_zone": time_zone})
    return person


def _unlink(*, person, user, actor):
    person.user = None
    person.save(update_fields=["user"])
    audit.record(event=audit.Event.PERSON_UNLINKED, actor=actor, person=person,
                 old={"user": str(user), "user_id": user.pk})


@transaction.atomic
def webhook_key_rotate(*, org: Organization, actor: audit.Actor) -> Organization:
    """A new secret for the org's Graph webhook URL; the old URL answers 404 from now on
    (this process forgets it at once, other web processes within
    forwarding.calltime.webhook_orgs.WEBHOOK_ORG_TTL). The bot must be registered with the
    new URL."""
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.provider_kind != "graph":
        raise ValidationError(f"{org.name} has no Teams webhook.")
    org.webhook_key = secrets.token_urlsafe(32)
    # save() (not update()): its post_save signal drops the old key from the webhook cache.
    org.save(update_fields=["webhook_key"])
    # Neither key goes into the log: the audit log is readable by the org's admins and
    # its partners, who must not learn the new one from there.
    audit.record(event=audit.Event.WEBHOOK_KEY_ROTATED, actor=actor, org=org)
    return org


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
        event=audit.Event.INVITATION_CREATED, actor=actor, org=org, person=person,
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


@transaction.atomic
def identity_link(*, user: User, sociallogin, request=None, ip=None):
    """Link an identity provider's account (allauth's `sociallogin`, not saved yet) to
    `user`, who from now on signs in with it; the caller has checked that the provider
    vouches for `user`'s own address (portal.adapters)."""
    sociallogin.connect(request, user)
    account = sociallogin.account
    audit.record(
        event=audit.Event.IDENTITY_LINKED, actor=audit.Actor.for_user(user, ip=ip),
        new={"provider": account.provider, "uid": account.uid, "email": user.email},
    )
    return account


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
        event=audit.Event.INVITATION_ACCEPTED, actor=audit.Actor.for_user(user, ip=ip),
        org=invitation.org, person=invitation.person,
        new={"email": invitation.email, "role": invitation.role},
    )
