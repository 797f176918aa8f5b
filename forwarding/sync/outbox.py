"""Entry point of the push pipeline for services that change settings.

`request_push` is called inside the service's transaction after the new version is
saved. It marks the row pending and enqueues a push once the transaction commits. The
enqueue is only a shortcut: if Redis is down at that moment, the beat sweeper finds the
row (version > synced_version) and pushes it later, so nothing is lost.
"""

import logging
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.sync import ratelimit
from portal.rowsets import update_rows

log = logging.getLogger(__name__)

# Queued by name (forwarding.sync.tasks registers it): the outbox never imports tasks.
PUSH_TASK = "forwarding.push_settings"
PUSH_BATCH_TASK = "forwarding.push_batch"
# A batch message carries the pushes of at most this long of consecutive slots, and at
# most BATCH_MAX of them: its worker waits between them for less than BATCH_SPAN, and a
# batch lost with its worker is at most this many rows for the sweeper.
BATCH_SPAN = 0.25
BATCH_MAX = 25

# Edits within this window coalesce into one provider write (ten quick edits: one or two).
DEBOUNCE = timedelta(seconds=django_settings.PUSH_DEBOUNCE_SECONDS)
# Waits up to this long ride on a Celery countdown; longer ones wait in the database
# (next_attempt_at), where the sweeper finds them.
MAX_COUNTDOWN = django_settings.PUSH_MAX_COUNTDOWN


def is_pushed(settings: ForwardingSettings) -> bool:
    return settings.person.org.capabilities.delivery == "push"


def request_push(settings: ForwardingSettings, *, queue="interactive", debounce=True,
                 delay: float | None = None):
    """`delay`: seconds before the earliest slot (default: DEBOUNCE when debouncing)."""
    if not is_pushed(settings):
        # Graph and Lync take the rules at call time or from the manifest: nothing to push.
        ForwardingSettings.objects.filter(pk=settings.pk).update(
            sync_status=SyncStatus.NOT_PUSHED, synced_version=settings.version)
        settings.sync_status, settings.synced_version = SyncStatus.NOT_PUSHED, settings.version
        return
    now = timezone.now()
    if debounce and settings.sync_status == SyncStatus.PENDING and settings.next_attempt_at \
            and settings.next_attempt_at > now:
        # A push of this row is already scheduled and sends the latest version when it
        # runs: this edit coalesces into it (ten quick edits, one or two writes).
        ForwardingSettings.objects.filter(pk=settings.pk).update(sync_attempts=0,
                                                                 last_error="")
        return
    if delay is None:
        delay = DEBOUNCE.total_seconds() if debounce else 0.0
    # Reserve the org's rate-limit slot now, so the push runs once, at its slot, instead
    # of waking up only to learn when to come back.
    wait, reserved = _reserve_slot(settings.person.org, not_before=delay)
    due = now + timedelta(seconds=wait)
    fields = {"sync_attempts": 0, "next_attempt_at": due, "last_error": ""}
    if settings.sync_status != SyncStatus.PUSHING:
        # A running push keeps its status; it sees the newer version when it finishes.
        fields["sync_status"] = SyncStatus.PENDING
    # Written with update() so the row's other fields (saved by the caller) stay as they are.
    ForwardingSettings.objects.filter(pk=settings.pk).update(**fields)
    for name, value in fields.items():
        setattr(settings, name, value)
    settings_id = settings.id
    if wait > MAX_COUNTDOWN:
        return  # a long wait lives in the database: the sweeper enqueues it when due
    transaction.on_commit(lambda: enqueue_push(settings_id, queue=queue, countdown=wait,
                                               slot_reserved=reserved))


def on_settings_changed(sender=None, *, settings, queue="interactive", push_delay=None,
                        **kwargs):
    """Receiver of forwarding.rules.signals.settings_changed (connected in apps.py).
    `push_delay` 0 (a bulk job's rows: one change per person, no quick second edit to
    wait for) reserves the org's earliest free slot instead of one DEBOUNCE away."""
    request_push(settings, queue=queue, delay=push_delay)


def request_push_many(rows: list[ForwardingSettings], *, queue="bulk", delay=0.0):
    """`request_push` (without the debounce's coalescing delay, `delay` before the first
    slot) for many rows of one org saved together: the org's slots reserved with one
    call, the rows marked with one UPDATE, each push enqueued at its slot once the
    transaction commits."""
    if not rows:
        return
    if not is_pushed(rows[0]):
        for row in rows:
            request_push(row, queue=queue, delay=delay)
        return
    now = timezone.now()
    waiting, due = [], []
    for row in rows:
        if row.sync_status == SyncStatus.PENDING and row.next_attempt_at \
                and row.next_attempt_at > now:
            waiting.append(row)  # its scheduled push sends this version: coalesce
        else:
            due.append(row)
    if waiting:
        ForwardingSettings.objects.filter(pk__in=[r.pk for r in waiting]).update(
            sync_attempts=0, last_error="")
    if not due:
        return
    waits, reserved = _reserve_slots(rows[0].person.org, len(due), not_before=delay)
    reserved_at = time.time()
    for row, wait in zip(due, waits, strict=True):
        row.sync_attempts, row.last_error = 0, ""
        row.next_attempt_at = now + timedelta(seconds=wait)
        if row.sync_status != SyncStatus.PUSHING:
            row.sync_status = SyncStatus.PENDING
    update_rows(ForwardingSettings, due,
                ["sync_attempts", "next_attempt_at", "last_error", "sync_status"])
    # Each push's slot as a time (epoch seconds), so a batch enqueued when the chunk
    # commits, later than the reservation, still sends at the slots reserved.
    pushes = [(row.id, round(reserved_at + wait, 4)) for row, wait in zip(due, waits, strict=True)
              if wait <= MAX_COUNTDOWN]  # longer waits: the sweeper enqueues them when due

    def enqueue_all():
        for batch in batches(pushes):
            enqueue_batch(batch, queue=queue, slot_reserved=reserved)

    transaction.on_commit(enqueue_all)


def batches(pushes):
    """`pushes` ((settings id, slot time), in slot order) cut into batches of at most
    BATCH_MAX pushes spanning at most BATCH_SPAN seconds."""
    batch = []
    for push in pushes:
        if batch and (len(batch) >= BATCH_MAX or push[1] - batch[0][1] > BATCH_SPAN):
            yield batch
            batch = []
        batch.append(push)
    if batch:
        yield batch


def enqueue_batch(batch, *, queue="bulk", slot_reserved=False):
    """One message for these pushes ((settings id, slot time) pairs), delivered at the
    first one's slot. Best effort, like enqueue_push: the sweeper catches up."""
    countdown = max(0.0, batch[0][1] - time.time())
    try:
        current_app.send_task(
            PUSH_BATCH_TASK, args=[[list(push) for push in batch]],
            kwargs={"slot_reserved": slot_reserved, "queue": queue},
            queue=queue, countdown=countdown or None, retry=False,
        )
    except Exception as exc:  # the broker may be down; the changes are safe in the database
        log.warning("could not enqueue a batch of %d pushes (%s); the sweeper will",
                    len(batch), exc)


def on_settings_changed_many(sender=None, *, rows, queue="bulk", push_delay=0.0, **kwargs):
    """Receiver of forwarding.rules.signals.settings_changed_many (connected in apps.py)."""
    request_push_many(list(rows), queue=queue, delay=push_delay or 0.0)


def _reserve_slots(org, count, *, not_before):
    try:
        return ratelimit.reserve_many(org, count, not_before=not_before)
    except Exception as exc:  # Redis down: each push reserves its slot when it runs
        log.warning("could not reserve push slots for org %s (%s)", org.pk, exc)
        return [not_before] * count, False


def _reserve_slot(org, *, not_before):
    try:
        return ratelimit.reserve(org, not_before=not_before)
    except Exception as exc:  # Redis down: the push reserves its slot when it runs
        log.warning("could not reserve a push slot for org %s (%s)", org.pk, exc)
        return not_before, False


def enqueue_push(settings_id, *, queue="interactive", countdown=None, slot_reserved=False,
                 admitted=False):
    """Best effort: a broker failure is logged, never raised; the sweeper catches up."""
    kwargs = {"slot_reserved": slot_reserved, "queue": queue}
    if admitted:
        kwargs["admitted"] = True
    try:
        current_app.send_task(
            PUSH_TASK, args=[settings_id], kwargs=kwargs,
            queue=queue, countdown=countdown or None, retry=False,
        )
    except Exception as exc:  # the broker may be down; the change is safe in the database
        log.warning("could not enqueue push of settings %s (%s); the sweeper will",
                    settings_id, exc)
