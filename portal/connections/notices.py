"""What happens around a connection's state changes: the admins' one email when it needs
them, the `connection_restored` signal once it works again, and the hourly counters the
Connection page draws."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portal import audit, signals
from portal.audit import Event
from portal.models import ConnectionHour, ConnectionState, Membership, ProviderConnection

SUCCESS_RESOLUTION = timedelta(minutes=1)


def count_hour(org_id: int, *, refused_notifications: int = 0, token_renewals: int = 0,
               now=None) -> None:
    """Add to this hour's counters of an org (one upsert, safe under concurrency)."""
    hour = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    row, created = ConnectionHour.objects.get_or_create(
        org_id=org_id, hour=hour,
        defaults={"refused_notifications": refused_notifications,
                  "token_renewals": token_renewals})
    if not created:
        ConnectionHour.objects.filter(pk=row.pk).update(
            refused_notifications=F("refused_notifications") + refused_notifications,
            token_renewals=F("token_renewals") + token_renewals)


def note_success(conn, now) -> None:
    """Remember the last successful provider call through `conn` (a ProviderConnection
    or None): at most one write a minute, and none when the loaded row is recent."""
    if conn is None or (conn.last_success_at is not None
                        and now - conn.last_success_at < SUCCESS_RESOLUTION):
        return
    ProviderConnection.objects.filter(pk=conn.pk).filter(
        Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - SUCCESS_RESOLUTION)
    ).update(last_success_at=now)
    conn.last_success_at = now


def restored_on_commit(org) -> None:
    transaction.on_commit(lambda: signals.connection_restored.send(sender=None, org=org))


def admin_emails(org) -> list[str]:
    return list(Membership.objects.filter(org=org, role=Membership.ADMIN)
                .exclude(user__email="").values_list("user__email", flat=True))


def needs_reauthorization(conn, reason: str, *, actor=None) -> bool:
    """Mark `conn` as needing an admin, write the audit row, and email the org's admins
    the first time in this outage. Returns whether this call changed the state."""
    now = timezone.now()
    with transaction.atomic():
        changed = ProviderConnection.objects.filter(pk=conn.pk).exclude(
            state=ConnectionState.NEEDS_REAUTHORIZATION).update(
            state=ConnectionState.NEEDS_REAUTHORIZATION, last_error=reason[:2000],
            last_error_at=now)
        if not changed:
            return False
        audit.record(event=Event.CONNECTION_NEEDS_REAUTHORIZATION,
                     actor=actor or audit.Actor.system("token renewal"), org=conn.org,
                     data={"reason": reason})
        first = ProviderConnection.objects.filter(
            pk=conn.pk, reauthorization_notified_at__isnull=True).update(
            reauthorization_notified_at=now)
        if first:
            recipients = admin_emails(conn.org)
            if recipients:
                transaction.on_commit(lambda: _send_reauthorization_mail(conn.org, reason,
                                                                         recipients))
    return True


def _send_reauthorization_mail(org, reason, recipients):
    provider = org.capabilities.label
    send_mail(
        f"{org.name}: the {provider} connection needs you",
        f"The portal can no longer get a token from {provider} for {org.name}:\n"
        f"{reason}\n\n"
        "Forwarding changes are kept and wait; nothing is lost. Reconnect the organization "
        f"on its Connection page and every waiting change is sent by itself:\n"
        f"{settings.PUBLIC_URL}/orgs/{org.pk}/connection/\n",
        None, recipients, fail_silently=True,
    )
