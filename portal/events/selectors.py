"""Reads of event endpoints and their deliveries for the pages and the API."""

from __future__ import annotations

from django.db.models import Prefetch

from portal.models import DeliveryAttempt, EventDelivery, EventEndpoint

RECENT_DELIVERIES = 25


def endpoints_for(org):
    return EventEndpoint.objects.filter(org=org).order_by("id")


def endpoint_for(org, endpoint_id):
    """The org's endpoint `endpoint_id`, or None (another org's id included)."""
    try:
        return EventEndpoint.objects.select_related("org").get(org=org, pk=endpoint_id)
    except (EventEndpoint.DoesNotExist, ValueError, TypeError):
        return None


def recent_deliveries(endpoint, limit=RECENT_DELIVERIES):
    """The endpoint's latest deliveries with their event and attempts (three queries)."""
    return list(
        EventDelivery.objects.filter(endpoint=endpoint).select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by(
            "number", "id")))
        .order_by("-created_at", "-id")[:limit])
