"""Reads of provider connections: the Connection page's facts and hourly counts, the
banner that tells admins a connection needs them, and the bot application id that
Graph's notification tokens are addressed to.

The hours are UTC hours (ConnectionHour.hour is one), so the audit log's counts, the
refused notifications and the call records of one hour land in the same bucket whatever
the site's time zone."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from portal.audit import Event
from portal.connections.tokens import connection_of
from portal.models import (
    AuditEvent,
    ConnectionHour,
    ConnectionState,
    Membership,
    Person,
    ProviderConnection,
)

CHART_HOURS = 24
PUSH_EVENTS = {Event.PUSH_SUCCEEDED: "succeeded", Event.PUSH_RETRYING: "retried",
               Event.PUSH_FAILED: "failed"}


def connection_for_page(org) -> ProviderConnection | None:
    return ProviderConnection.objects.filter(org=org).select_related("connected_by").first()


def chart_hours(now=None) -> list:
    """The last CHART_HOURS hours (UTC, aware), oldest first, the current one last."""
    end = (now or timezone.now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [end - timedelta(hours=n) for n in range(CHART_HOURS - 1, -1, -1)]


def push_counts_by_hour(org, hours) -> dict:
    """hour -> {"succeeded": n, "retried": n, "failed": n} from the org's audit rows,
    one aggregate query."""
    counts = {hour: dict.fromkeys(PUSH_EVENTS.values(), 0) for hour in hours}
    rows = (AuditEvent.objects.filter(org=org, event__in=list(PUSH_EVENTS),
                                      created_at__gte=hours[0])
            .annotate(hour=TruncHour("created_at", tzinfo=UTC))
            .values("hour", "event").annotate(n=Count("id")).order_by())
    for row in rows:
        bucket = counts.get(row["hour"])
        if bucket is not None:
            bucket[PUSH_EVENTS[row["event"]]] += row["n"]
    return counts


def refused_by_hour(org, hours) -> dict:
    """hour -> refused Graph notifications (ConnectionHour)."""
    counts = dict.fromkeys(hours, 0)
    for hour, refused in ConnectionHour.objects.filter(
            org=org, hour__gte=hours[0]).values_list("hour", "refused_notifications"):
        if hour in counts:
            counts[hour] += refused
    return counts


def orgs_waiting_for(user) -> list:
    """The orgs `user` administers (as their own admin) whose connection needs an admin:
    it needs re-authorization, or it is disconnected while the org has people. One query;
    a list of (org id, org name, provider kind)."""
    if not user.is_authenticated:
        return []
    admin_of = Membership.objects.filter(org=OuterRef("org"), user=user, role=Membership.ADMIN)
    has_people = Person.objects.filter(org=OuterRef("org"))
    rows = (ProviderConnection.objects.filter(Exists(admin_of))
            .filter(Q(state=ConnectionState.NEEDS_REAUTHORIZATION)
                    | Q(Exists(has_people), state=ConnectionState.DISCONNECTED))
            .order_by("org__name").values_list("org_id", "org__name", "org__provider_kind"))
    return list(rows)


def bot_app_id(org) -> str:
    """The application id of the org's Teams calling bot: the audience of the tokens
    Graph signs its notifications with, and the `appId` the sandbox's lines carry.

    The org's own Microsoft app when its connection names one, else the portal's
    multi-tenant app (MICROSOFT_CLIENT_ID)."""
    conn = connection_of(org)
    if conn is not None and conn.client_id:
        return conn.client_id
    return settings.MICROSOFT_CLIENT_ID
