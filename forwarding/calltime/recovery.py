"""The Graph bot's recovery (beat, every few seconds): nothing waits on one process staying
alive.

A call still waiting for a redirect after RECOVER_AFTER lost its redirect thread (it died
with its web process) and is queued again on the `calls` queue; a call whose deadline
passed with no redirect is closed as failed, with its audit row.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from forwarding.calltime import bot
from forwarding.models import CallRecord

log = logging.getLogger(__name__)

# A redirect thread claims its call within milliseconds; a call still waiting after this
# lost its thread (the web process died) and goes to the `calls` queue.
RECOVER_AFTER = timedelta(seconds=2)

_GIVEN_UP = {
    CallRecord.PENDING: "No redirect thread or worker took the call before Graph's "
                        "15-second deadline; are the web processes and the workers "
                        "of the calls queue running?",
    CallRecord.RETRYING: "The retry did not run before Graph's 15-second deadline; "
                         "are the workers of the calls queue running?",
    CallRecord.SENDING: "The process sending the redirect stopped before recording "
                        "Graph's answer; the call's outcome is unknown.",
}


def recover_calls(*, now=None) -> dict:
    """Queue the calls whose redirect thread is gone; close the ones Graph gave up on.

    A call still pending after RECOVER_AFTER goes to the `calls` queue (a duplicate is
    harmless: handle_incoming claims the record before sending). A call with no
    redirect when Graph's deadline has passed (and a sender's full attempt after it,
    for one still sending) is marked failed with its audit row, so that no record
    claims a redirect is still on its way."""
    now = now or timezone.now()
    unsettled = CallRecord.objects.filter(
        redirect_status__in=[CallRecord.PENDING, CallRecord.SENDING, CallRecord.RETRYING])
    waiting = list(unsettled.filter(
        redirect_status=CallRecord.PENDING, started_at__lt=now - RECOVER_AFTER,
        started_at__gte=now - bot.DEADLINE).values_list("pk", flat=True)[:500])
    queued = 0
    for record_id in waiting:
        # No fallback thread: if the broker is down, the next run tries again (a thread
        # per call is for the webhook's one call, not for a backlog of hundreds).
        try:
            bot.enqueue_redirect(record_id, fallback=False)
        except Exception as exc:
            log.warning("call recovery could not reach the broker: %s", exc)
            break
        queued += 1
    expired = 0
    given_up = unsettled.filter(
        Q(started_at__lt=now - bot.DEADLINE - bot.ATTEMPT_BUDGET)
        | (~Q(redirect_status=CallRecord.SENDING) & Q(started_at__lt=now - bot.DEADLINE)))
    for record in given_up.select_related("org", "person")[:500]:
        if bot.record_failure(record, record.redirect_status, attempt=record.redirect_attempts,
                              status_code=None, message=_GIVEN_UP[record.redirect_status]):
            expired += 1
    if queued or expired:
        log.warning("call recovery: %d queued again, %d past the deadline", queued, expired)
    return {"queued": queued, "expired": expired}
