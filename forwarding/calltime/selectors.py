"""Reads of the call records, for pages."""

from __future__ import annotations

from forwarding.models import CallRecord


def recent_calls(person, *, limit=100):
    """The person's calls, newest first."""
    return CallRecord.objects.filter(person=person).order_by("-started_at", "-id")[:limit]
