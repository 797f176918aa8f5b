"""Reads of the call records, for pages: a person's recent calls, and the bot's answer
times per hour for the Connection page."""

from __future__ import annotations

from datetime import UTC

from django.db import connection
from django.db.models import Aggregate, Count, FloatField
from django.db.models.functions import TruncHour

from forwarding.models import CallRecord


def recent_calls(person, *, limit=100):
    """The person's calls, newest first."""
    return CallRecord.objects.filter(person=person).order_by("-started_at", "-id")[:limit]


class _PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        # A float literal, never outside input: safe in the SQL text.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _percentile(values: list, fraction: float) -> float:
    """Linear interpolation between the closest ranks (what percentile_cont does)."""
    values = sorted(values)
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def answer_times_by_hour(org, since) -> dict:
    """UTC hour -> (p50 ms, p99 ms, calls) of the bot's answer time (from the incoming
    notification to Graph's answer to the redirect) for the org's calls since `since`.
    One aggregate query on PostgreSQL; SQLite (the demo) has no percentile_cont, so
    there the latencies are read and ranked here."""
    calls = CallRecord.objects.filter(org=org, started_at__gte=since, latency_ms__isnull=False)
    if connection.vendor == "postgresql":
        rows = (calls.annotate(hour=TruncHour("started_at", tzinfo=UTC)).values("hour")
                .annotate(p50=_PercentileCont("latency_ms", 0.5),
                          p99=_PercentileCont("latency_ms", 0.99), n=Count("id"))
                .order_by())
        return {r["hour"]: (r["p50"], r["p99"], r["n"]) for r in rows}
    by_hour: dict = {}
    for started, latency in calls.values_list("started_at", "latency_ms"):
        hour = started.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, []).append(latency)
    return {hour: (_percentile(v, 0.5), _percentile(v, 0.99), len(v))
            for hour, v in by_hour.items()}
