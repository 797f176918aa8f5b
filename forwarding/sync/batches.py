"""A bulk job's pushes, a batch at a time: the messages outbox.request_push_many cuts
(at most outbox.BATCH_MAX consecutive slots, spanning at most outbox.BATCH_SPAN).

A push alone (delivery.push) costs seven statements. At 200 pushes a second that
bookkeeping, not the HTTP request, is what two CPUs run out of (the worker's and
PostgreSQL's CPU per push, README). A batch does it once for all its pushes: one
statement claims its rows, one INSERT writes their attempts, and after the requests one
statement settles the successes and their attempts and one INSERT writes their audit
rows. Each request still goes at its own slot, after the org's rate admits it
(delivery.held_back), and everything that is not a plain success takes the single
push's path: a provider's refusal or failure is recorded at once (delivery.send), a
push the rate holds back goes back to the row, a missing connection makes the row wait.

Nothing is lost that a single push would keep: the attempts are written before the first
request; a worker killed before the batch settles leaves its rows claimed, and once the
claims expire the sweeper pushes them again (the same state: the provider's PUT is
idempotent), so each version still gets exactly one success audit row.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from forwarding.models import PushAttempt
from forwarding.sync import claims, delivery, outbox
from portal import audit
from portal.connections import notices, tokens
from portal.rowsets import insert_rows

log = logging.getLogger(__name__)

# A batch hands what is left to a new message after this long: well inside the task's
# soft time limit, whatever the provider's timeouts.
BATCH_BUDGET = django_settings.CELERY_TASK_SOFT_TIME_LIMIT / 3


def push_batch(items, *, slot_reserved=False, queue="bulk", budget=None):
    """Push each of `items` ((settings id, slot time in epoch seconds), in slot order) at
    its slot. One push that breaks does not stop the others (its claim expires and the
    sweeper retries it). A batch that runs past `budget` seconds (a slow provider)
    hands its rest to a new message instead of meeting the task's time limit."""
    budget = BATCH_BUDGET if budget is None else budget
    started = time.monotonic()
    items = [(int(settings_id), float(slot)) for settings_id, slot in items]
    if not items:
        return
    now = timezone.now()
    token = uuid.uuid4().hex
    # Every row of the batch is due by its last slot (a row edited again since, or
    # claimed by another push, is not claimed and is left to its own push).
    due_by = now + timedelta(seconds=max(0.0, items[-1][1] - time.time()))
    claimed = claims.claim_many([settings_id for settings_id, _slot in items], now, token,
                                seconds=delivery.CLAIM_SECONDS,
                                due_by=due_by + claims.EARLY_TOLERANCE)
    for settings_id, _slot in items:
        if settings_id not in claimed:
            delivery.reschedule_if_early(settings_id, now, queue)
    plans, slots = [], []
    for settings_id, slot in items:
        if settings_id in claimed:
            plan = delivery.plan_push(claimed[settings_id], token, now)
            if plan is not None:  # else: waiting for the org's connection
                plans.append(plan)
                slots.append((settings_id, slot))
    if not plans:
        return
    delivery.mark_whole_person(plans)
    attempts = insert_rows(PushAttempt, [plan.attempt(now) for plan in plans])
    done = []
    try:
        for n, (plan, attempt, (settings_id, slot)) in enumerate(
                zip(plans, attempts, slots, strict=True)):
            if time.monotonic() - started > budget:
                _hand_over(plans[n:], attempts[n:], slots[n:], token, slot_reserved, queue)
                return
            wait = slot - time.time()
            if wait > 0:
                time.sleep(min(wait, outbox.BATCH_SPAN))
            try:
                if delivery.held_back(plan.row, token, timezone.now(), queue,
                                      slot_reserved=slot_reserved, attempt=attempt):
                    continue
                sent_at = timezone.now()
                sent = delivery.send(plan, token, attempt, queue)
            except SoftTimeLimitExceeded:
                raise  # out of time: settle what was sent (below) and stop
            except Exception:
                log.exception("push of settings %s failed unexpectedly; the sweeper retries "
                              "it when its claim expires", settings_id)
                continue
            if isinstance(sent, delivery.Sent):
                done.append((plan, attempt, sent, sent_at, timezone.now()))
    finally:
        # Also when the task is stopped mid-way (its soft time limit): what the provider
        # took is recorded.
        if done:
            _settle(done, token, queue)


def _hand_over(plans, attempts, slots, token, slot_reserved, queue):
    """The rest of a batch that ran out of time goes to a new message: its rows' claims
    released and its unsent attempts removed first, so that message can claim them."""
    PushAttempt.objects.filter(pk__in=[attempt.pk for attempt in attempts]).delete()
    for plan in plans:
        delivery.release(plan.row.pk, token)
    outbox.enqueue_batch(slots, queue=queue, slot_reserved=slot_reserved)


def _settle(done, token, queue):
    """The batch's successes: rows, attempts and audit rows with three statements in one
    transaction; row by row (delivery's own settle) if that fails (a deadlock with
    another writer of the same rows, say)."""
    routes = {(plan.row.person.org.pk, plan.row.push_via_partner_id): plan.row
              for plan, *_rest in done}
    for row in routes.values():  # the connections that were used: one write a minute
        notices.note_success(tokens.connection_of(delivery.token_org(row)), done[-1][4])
    try:
        with transaction.atomic():
            current = claims.settle_successes([
                {"row_id": plan.row.pk, "attempt_id": attempt.pk, "version": attempt.version,
                 "held": sent.held, "started_at": sent_at, "finished_at": finished_at,
                 "outcome": PushAttempt.SUCCEEDED, "status_code": sent.result.status_code,
                 "duration_ms": sent.duration_ms,
                 "tracking_id": sent.result.tracking_id[:200],
                 "requests": sent.result.requests}
                for plan, attempt, sent, sent_at, finished_at in done], token=token)
            # A row gone meanwhile (its person deleted) has nothing left to record.
            settled = [entry for entry in done if entry[0].row.pk in current]
            audit.record_many([
                delivery.success_audit(plan.row, attempt, sent.result, sent.duration_ms)
                for plan, attempt, sent, _sent_at, _finished_at in settled])
            newer = [(plan.row.pk, current[plan.row.pk][1], finished_at)
                     for plan, attempt, _sent, _sent_at, finished_at in settled
                     if current[plan.row.pk][0] > attempt.version]
            if newer:
                transaction.on_commit(lambda: _enqueue_newer(newer, queue))
    except DatabaseError:
        log.exception("settling a batch of %d pushes together failed; settling them one "
                      "by one", len(done))
        for plan, attempt, sent, _sent_at, _finished_at in done:
            delivery.record_success(plan.row, token, attempt, sent.result,
                                    sent.duration_ms, queue, held=sent.held)


def _enqueue_newer(newer, queue):
    """Rows edited again while their push was out: their next push, at its time."""
    for row_id, next_attempt_at, finished_at in newer:
        wait = max(0.0, (next_attempt_at - finished_at).total_seconds())
        outbox.enqueue_push(row_id, queue=queue, countdown=wait or None)
