"""Keeping a long-lived thread's database connections healthy without Django's
request_finished: the Graph webhook's fast path (portal.leanwsgi) and the redirect
threads (forwarding.calltime.threads) run outside Django's request cycle."""

from __future__ import annotations

import time

from django.db import connections


def tidy_connections() -> None:
    """Close this thread's database connections that failed or are too old; keep the
    others as they are (close_old_connections would also mark them for a health check,
    a round trip on the next query)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or connection.in_atomic_block:
            continue
        too_old = connection.close_at is not None and time.monotonic() >= connection.close_at
        if connection.errors_occurred or too_old:
            connection.close_if_unusable_or_obsolete()
