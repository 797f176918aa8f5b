"""The push pipeline's services: bring each provider to the desired state.

A push claims the settings row with a conditional UPDATE (so at most one push per person
runs, whatever the number of workers), always sends the *latest* desired state, and
records the version it sent. Outcomes:

- success: synced_version = the version sent; if a newer edit arrived meanwhile, the
  row is pending again and another push is enqueued (edits coalesce);
- transient failure (5xx, 423, timeouts): backoff with jitter, never before the
  provider's Retry-After; after MAX_ATTEMPTS: failed;
- rate limited (429): retried after Retry-After and the whole org paused, without
  counting toward MAX_ATTEMPTS (the provider took nothing; the pace was ours);
- permanent failure (4xx): failed at once with a message a person can act on.

A failure ends only the version it was about: when a newer edit is already waiting, the
row goes back to pending (with fresh attempts) and the newer version is pushed.

Workers never sleep: a wait becomes a short countdown on a re-enqueued task, and the
long wait lives in the database (next_attempt_at), where the sweeper finds it. The one
exception is a batch of a bulk job's pushes (forwarding.sync.batches): its worker waits
for each push's slot, less than outbox.BATCH_SPAN in all. The sweeper also re-enqueues
rows whose message was lost (Redis down at commit, a worker killed mid-push: its claim
expires).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules.selectors import desired_state
from forwarding.sync import claims, outbox, ratelimit
from portal import access, audit
from portal.connections import notices, tokens
from portal.provider_urls import connection_base_url
from portal.rowsets import insert_rows
from providers.base import Connection, ProviderError
from providers.registry import get_provider

log = logging.getLogger(__name__)

MAX_ATTEMPTS = django_settings.PUSH_MAX_ATTEMPTS
BACKOFF_BASE = django_settings.PUSH_BACKOFF_BASE
BACKOFF_CAP = django_settings.PUSH_BACKOFF_CAP
# Longer than the task hard time limit, so an expired claim means its worker is gone
# (derived from it and checked at start-up: settings/base.py).
CLAIM_SECONDS = django_settings.PUSH_CLAIM_SECONDS
MAX_COUNTDOWN = outbox.MAX_COUNTDOWN
# The sweeper re-enqueues rows overdue by this much (their message was lost).
SWEEP_GRACE = django_settings.PUSH_SWEEP_GRACE

SYSTEM = "push pipeline"
# A row waiting for its org's connection is looked at again after this long even if no
# "connection restored" signal arrives (a crashed process, a renewal by another route).
WAITING_RECHECK = timedelta(seconds=django_settings.PUSH_WAITING_RECHECK_SECONDS)


def _worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempt: int) -> float:
    """Equal-jitter exponential backoff: between half and all of base * 2^(attempt-1)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def token_org(row: ForwardingSettings):
    """The organization whose connection (token) a push or read-back of `row` uses now.

    A partner's change goes out with the partner's credentials only while the partner's
    delegation is in force: a retry, a sweep, a window tick or a drift check after the
    revocation uses the org's own connection, whatever the row remembers."""
    org = row.person.org
    partner = row.push_via_partner
    if partner is not None and partner.provider_kind == org.provider_kind and \
            access.partner_delegation_active(customer_id=org.pk, partner_id=partner.pk):
        return partner
    return org


def connection_for(row: ForwardingSettings) -> Connection:
    """The connection a push or read-back of `row` goes through, decided now. Raises
    tokens.ConnectionUnavailable when the org (or partner) has no valid token."""
    org, via = row.person.org, token_org(row)
    timeout = getattr(django_settings, "PROVIDER_TIMEOUT", None)
    token = tokens.token_for(via)
    options = {"timeout": timeout, "person_settings": holds_person_settings(org.capabilities)}
    if via is not org:
        # Seed 001: a partner uses its own token and the customer's orgId.
        return Connection(
            base_url=connection_base_url(org.provider_kind, via.base_url or org.base_url),
            token=token, org_id=via.provider_org_id, acting_org_id=org.provider_org_id,
            options=options,
        )
    return Connection(base_url=connection_base_url(org.provider_kind, org.base_url),
                      token=token, org_id=org.provider_org_id, options=options)


def beyond_call_forwarding(state) -> bool:
    """Whether `state` wants anything of a person-settings provider beyond call forwarding
    (caller rules, schedules, simultaneous ring, do not disturb)."""
    return bool(state.caller_rules or state.schedules or state.simring_enabled
                or state.dnd_enabled)


def holds_person_settings(caps) -> bool:
    """Whether a push provider holds caller rules (and with them schedules, simultaneous
    ring options, DND) natively, so a push writes and a read-back reads all of them
    (Webex once its capabilities say so; issue 16)."""
    return caps.delivery == "push" and caps.supports("caller_rules")


def send_renewing(row: ForwardingSettings, conn: Connection, call):
    """`call(conn)`, and once more with a renewed token if the provider answers 401 and
    the org has a connection that can renew (a static development token cannot)."""
    try:
        return call(conn)
    except ProviderError as exc:
        via = token_org(row)
        if exc.status_code != 401 or tokens.connection_of(via) is None:
            raise
        fresh = tokens.renew_after_refusal(via, conn.token)
    try:
        return call(replace(conn, token=fresh))
    except ProviderError as exc:
        if exc.status_code != 401:
            raise
        # Refused right after a renewal: the grant itself is broken.
        connection = tokens.connection_of(via)
        message = (f"{via.capabilities.label} refused a freshly renewed token "
                   f"({exc.message}).")
        notices.needs_reauthorization(connection, message)
        raise tokens.ConnectionUnavailable(tokens.unavailable_sentence(connection),
                                           needs_person=True) from exc


def _claim(settings_id, now):
    """Claim the row (forwarding.sync.claims): (its token, the row with what the push needs),
    or (None, None) when it is not this push's to do."""
    token = uuid.uuid4().hex
    row = claims.claim(settings_id, now, token, seconds=CLAIM_SECONDS)
    return (token, row) if row is not None else (None, None)


def reschedule_if_early(settings_id, now, queue):
    """A task that arrived before its row is due comes back later instead of vanishing."""
    row = (ForwardingSettings.objects.filter(pk=settings_id, version__gt=F("synced_version"),
                                             claimed_until__isnull=True)
           .exclude(sync_status__in=[SyncStatus.FAILED, SyncStatus.NOT_PUSHED])
           .values("next_attempt_at").first())
    if row and row["next_attempt_at"] and row["next_attempt_at"] > now:
        wait = (row["next_attempt_at"] - now).total_seconds()
        if wait <= MAX_COUNTDOWN:
            outbox.enqueue_push(settings_id, queue=queue, countdown=wait, slot_reserved=False)


def release(settings_id, token, **fields):
    return ForwardingSettings.objects.filter(pk=settings_id, claim_token=token).update(
        claimed_until=None, claim_token="", **fields
    )


def push(settings_id, *, slot_reserved=False, queue="interactive", admitted=False):
    """Push the latest desired state of one person, if the provider is behind.
    `slot_reserved`: the push holds its rate slot; `admitted`: and its send was counted
    (ratelimit.admit) when it was held back."""
    now = timezone.now()
    token, row = _claim(settings_id, now)
    if token is None:
        reschedule_if_early(settings_id, now, queue)
        return None
    plan = plan_push(row, token, now)
    if plan is None:
        return None
    if held_back(row, token, now, queue, slot_reserved=slot_reserved, admitted=admitted):
        return None
    mark_whole_person([plan])
    # Written as portal.rowsets writes a chunk's rows: a statement built once per
    # process instead of compiled by the ORM on every push.
    attempt, = insert_rows(PushAttempt, [plan.attempt(now)])
    sent = send(plan, token, attempt, queue)
    if isinstance(sent, Sent):
        record_success(row, token, attempt, sent.result, sent.duration_ms, queue,
                        held=sent.held)
        return sent.result
    return sent


@dataclass
class Plan:
    """What a claimed push sends, and through what: decided once the row is claimed."""

    row: ForwardingSettings
    conn: Connection | None
    refused: ProviderError | None
    state: object
    full: bool

    def attempt(self, now) -> PushAttempt:
        return PushAttempt(settings=self.row, version=self.row.version, started_at=now,
                           sent=self.state.to_dict(), worker=_worker_name())


@dataclass
class Sent:
    """A push the provider took."""

    result: object
    duration_ms: int
    held: bool | None


def plan_push(row, token, now) -> Plan | None:
    """The push of claimed `row`; None when its org has no connection now (the row is
    handed back as waiting)."""
    org = row.person.org
    conn = refused = None
    try:
        conn = connection_for(row)
    except tokens.ConnectionUnavailable as exc:
        _wait_for_connection(row, token, exc, attempt=None)
        return None
    except ProviderError as exc:  # e.g. a base URL that is not allowed: recorded as sent
        refused = exc
    state = desired_state(row, now=now)
    # The whole person (several resources, read before written) only when the desired
    # state has more than call forwarding or the provider may still hold more; otherwise
    # one PUT, as every push was before issue 16.
    full = holds_person_settings(org.capabilities) and (
        row.person_settings_held or beyond_call_forwarding(state))
    if conn is not None:
        conn = replace(conn, options={**conn.options, "person_settings": full})
    return Plan(row=row, conn=conn, refused=refused, state=state, full=full)


def mark_whole_person(plans) -> None:
    """Marked before any write, so a crash mid-way leaves the next push whole too."""
    ids = [plan.row.pk for plan in plans if plan.full and not plan.row.person_settings_held]
    if ids:
        ForwardingSettings.objects.filter(pk__in=ids).update(person_settings_held=True)


def held_back(row, token, now, queue, *, slot_reserved, admitted=False,
              attempt=None) -> bool:
    """Whether the org's rate holds this push back; if so the row is handed back and its
    push comes back at its turn (`attempt`, written before and never sent, is removed).
    A reserved slot was paid for already; only a 429 pause since then holds it back,
    or sends running ahead of the rate (a late backlog catching up: ratelimit.admit
    gives the push its turn, and it comes back `admitted`)."""
    org = row.person.org
    counted = False
    if slot_reserved and admitted:
        wait, holds_slot = ratelimit.paused_for(org), False
    elif slot_reserved:
        wait, holds_slot = ratelimit.admit(org)
        counted = holds_slot
    else:
        wait, holds_slot = ratelimit.reserve(org)
        if wait <= 0.001 and holds_slot:
            wait, holds_slot = ratelimit.admit(org)
            counted = holds_slot
    if wait <= 0.001:
        return False
    # Our slot is in the future (or the org is paused): hand the row back and come back
    # then. A reserved slot is kept; after a pause a new one is reserved.
    status = SyncStatus.RETRYING if row.sync_attempts else SyncStatus.PENDING
    release(row.pk, token, sync_status=status, next_attempt_at=now + timedelta(seconds=wait))
    if attempt is not None:
        PushAttempt.objects.filter(pk=attempt.pk).delete()
    if wait <= MAX_COUNTDOWN:
        outbox.enqueue_push(row.pk, queue=queue, countdown=wait, slot_reserved=holds_slot,
                            admitted=counted)
    return True


def send(plan: Plan, token, attempt, queue):
    """Send `plan` (its `attempt` written): Sent when the provider took it; otherwise the
    failure is recorded here and returned (None when the row waits for a connection)."""
    row = plan.row
    provider = get_provider(row.person.org.provider_kind)
    started = time.monotonic()
    person_ref = row.person.provider_person_id
    try:
        if plan.refused is not None:
            raise plan.refused
        result = send_renewing(row, plan.conn,
                               lambda c: provider.push(c, person_ref, plan.state))
    except tokens.ConnectionUnavailable as exc:
        _wait_for_connection(row, token, exc, attempt=attempt)
        return None
    except ProviderError as exc:
        duration_ms = int((time.monotonic() - started) * 1000)
        _record_failure(row, token, attempt, exc, duration_ms, queue)
        return exc
    return Sent(result=result, duration_ms=int((time.monotonic() - started) * 1000),
                held=beyond_call_forwarding(plan.state) if plan.full else None)


def _wait_for_connection(row, token, exc, *, attempt):
    """No token for the org now: hand the row back as waiting. Not a failed attempt (the
    attempt counter is untouched); the change goes out when the connection is restored."""
    now = timezone.now()
    release(row.pk, token, sync_status=SyncStatus.WAITING, last_error=exc.message[:500],
             next_attempt_at=now + (WAITING_RECHECK if exc.needs_person
                                    else timedelta(seconds=tokens.TRANSIENT_PAUSE_SECONDS)))
    if attempt is not None:  # the provider refused the token that was sent
        PushAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=PushAttempt.WAITING, status_code=401,
            error=exc.message[:500])


def resume_waiting(org) -> int:
    """The org's connection works again: every push that waited for it (the org's own,
    and its customers' that go through it as their partner) is due now. Receiver of
    portal.signals.connection_restored (connected in forwarding/apps.py)."""
    ids = list(ForwardingSettings.objects.filter(sync_status=SyncStatus.WAITING)
               .filter(Q(person__org=org) | Q(push_via_partner=org))
               .values_list("pk", flat=True))
    if not ids:
        return 0
    ForwardingSettings.objects.filter(pk__in=ids, sync_status=SyncStatus.WAITING).update(
        sync_status=SyncStatus.PENDING, next_attempt_at=timezone.now())
    for settings_id in ids:
        outbox.enqueue_push(settings_id, queue="bulk")
    log.info("connection of org %s restored: %d waiting pushes resumed", org.pk, len(ids))
    return len(ids)


def on_connection_restored(sender=None, *, org, **kwargs):
    resume_waiting(org)


def record_success(row, token, attempt, result, duration_ms, queue, *, held=None):
    """`held`: after a whole-person push, whether the provider now holds more than call
    forwarding (None: a call-forwarding push, which changes nothing of that)."""
    now = timezone.now()
    notices.note_success(tokens.connection_of(token_org(row)), now)
    with transaction.atomic():
        # The row and the attempt in one statement (forwarding.sync.claims), the audit row
        # (and its outgoing event) in the same transaction.
        current_version, next_attempt_at = claims.settle_success(
            row.pk, token=token, attempt_id=attempt.pk, version=attempt.version, now=now,
            held=held, attempt_values={
                "finished_at": now, "outcome": PushAttempt.SUCCEEDED,
                "status_code": result.status_code, "duration_ms": duration_ms,
                "tracking_id": result.tracking_id[:200], "requests": result.requests})
        newer = current_version > attempt.version
        audit.record(**success_audit(row, attempt, result, duration_ms))
        if newer:
            wait = max(0.0, (next_attempt_at - now).total_seconds())
            transaction.on_commit(
                lambda: outbox.enqueue_push(row.pk, queue=queue, countdown=wait or None)
            )


def success_audit(row, attempt, result, duration_ms) -> dict:
    """The audit row of a push the provider took (audit.record's arguments)."""
    return {"event": audit.Event.PUSH_SUCCEEDED, "actor": audit.Actor.system(SYSTEM),
            "person": row.person,
            "data": {"version": attempt.version, "status": result.status_code,
                     "duration_ms": duration_ms, "tracking_id": result.tracking_id,
                     "sent": result.summary, "requests": result.requests,
                     "attempt": attempt.pk}}


def _record_failure(row, token, attempt, exc: ProviderError, duration_ms, queue):
    now = timezone.now()
    org = row.person.org
    log.warning("push of settings %s v%s failed: %s (%s) raw=%s", row.pk, attempt.version,
                exc.message, exc.status_code, exc.raw[:500])
    # A 429 says "not now" about the org's pace, not about this change: the provider
    # took nothing, and the org is paused below. It is retried after Retry-After
    # without using up one of the change's MAX_ATTEMPTS, so that a large job at the
    # edge of the provider's limit never ends people's changes as failed.
    rate_limited = exc.status_code == 429 and not exc.permanent
    with transaction.atomic():
        current = ForwardingSettings.objects.select_for_update().get(pk=row.pk)
        attempts = current.sync_attempts + (0 if rate_limited else 1)
        fields = {"sync_attempts": attempts, "last_error": exc.message[:500]}
        if current.claim_token == token:
            fields.update(claimed_until=None, claim_token="")
        wait = next_push = None
        newer = current.version > attempt.version
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            event, outcome = audit.Event.PUSH_FAILED, PushAttempt.PERMANENT
            if newer:
                # The failure ends the version it was about, not the person's newer edit:
                # that one starts afresh with its own attempts (the error stays visible
                # until it is delivered).
                fields.update(sync_status=SyncStatus.PENDING, sync_attempts=0,
                              next_attempt_at=max(current.next_attempt_at or now, now))
                next_push = (fields["next_attempt_at"] - now).total_seconds()
            else:
                fields.update(sync_status=SyncStatus.FAILED, next_attempt_at=None)
        else:
            wait = max(backoff(max(attempts, 1)), exc.retry_after or 0.0)
            fields.update(sync_status=SyncStatus.RETRYING,
                          next_attempt_at=now + timedelta(seconds=wait))
            event, outcome = audit.Event.PUSH_RETRYING, PushAttempt.TRANSIENT
        ForwardingSettings.objects.filter(pk=row.pk).update(**fields)
        PushAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=outcome, status_code=exc.status_code,
            duration_ms=duration_ms, tracking_id=exc.tracking_id[:200], error=exc.message[:500],
            requests=getattr(exc, "requests_sent", 1),
        )
        audit.record(
            event=event, actor=audit.Actor.system(SYSTEM), person=row.person,
            data={"version": attempt.version, "status": exc.status_code,
                  "duration_ms": duration_ms, "tracking_id": exc.tracking_id,
                  "error": exc.message, "permanent": exc.permanent, "attempts": attempts,
                  "rate_limited": rate_limited,
                  "retry_in_s": round(wait, 3) if wait is not None else None,
                  "attempt": attempt.pk,
                  "newer_version": current.version if newer else None},
        )
    if exc.status_code == 429:
        ratelimit.pause(org, exc.retry_after if exc.retry_after is not None else wait or 1.0)
    next_push = wait if next_push is None else next_push
    if next_push is not None and next_push <= MAX_COUNTDOWN:
        outbox.enqueue_push(row.pk, queue=queue, countdown=next_push)


def sweep(*, now=None, limit=1000) -> int:
    """Re-enqueue every row that is behind, due (with grace), and not being pushed."""
    now = now or timezone.now()
    due = now - timedelta(seconds=SWEEP_GRACE)
    ids = list(
        ForwardingSettings.objects.behind()
        .exclude(sync_status__in=[SyncStatus.FAILED, SyncStatus.NOT_PUSHED])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )
    for settings_id in ids:
        outbox.enqueue_push(settings_id, queue="bulk")
    if ids:
        log.info("sweeper re-enqueued %d pushes", len(ids))
    return len(ids)


@transaction.atomic
def retry_now(*, settings: ForwardingSettings, actor: audit.Actor):
    """An admin's "retry now": start again from a failed or waiting state."""
    row = ForwardingSettings.objects.select_for_update().select_related("person__org").get(
        pk=settings.pk)
    if not outbox.is_pushed(row):
        return row
    if row.version <= row.synced_version:
        return row
    audit.record(event=audit.Event.PUSH_RETRY_REQUESTED, actor=actor, person=row.person,
                 data={"version": row.version, "previous_status": row.sync_status,
                       "previous_error": row.last_error})
    outbox.request_push(row, debounce=False)
    return row
