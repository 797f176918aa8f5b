"""Call-time forwarding: the Microsoft Graph bot's services (seeds 002 and 003).

The webhook hands parsed notifications to `notifications_received`:

- an `incoming` notification creates the call's CallRecord (its unique (org, call id)
  makes a repeated notification harmless) and, once committed, `dispatch_redirect`
  hands it to the web process's own redirect threads (forwarding.calltime.threads) or, when
  those are busy or turned off, to `forwarding.redirect_call` on the `calls` queue,
  which no bulk work shares;
- a follow-up (`redirecting`, `terminated` with `answeredBy`, `deleted`) completes the
  record; a repeated one, or one older than the state already recorded, is ignored.

`handle_incoming` (in a redirect thread or a worker) finds the called person (the line
id), asks forwarding.rules.routing where the call goes, records the decision and the body it
is about to send, POSTs the redirect, and records the outcome with its audit row
(`call.redirected` or `call.redirect_failed`) in one transaction. A transient failure is
retried once, 0.5 s later, on the `calls` queue, when Graph's 15-second deadline still
leaves room.

Nearby: every SQL statement written by hand is in forwarding.calltime.storage; the
webhook's org lookup and URLs in forwarding.calltime.webhook_orgs; the beat task that
queues calls whose redirect thread died and closes the ones past the deadline in
forwarding.calltime.recovery; the Lync Server manifest in forwarding.calltime.manifests.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta

from celery import current_app
from django.conf import settings as django_settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from forwarding.calltime import directory_cache, storage, threads
from forwarding.calltime.webhook_orgs import webhook_url
from forwarding.models import CallRecord, ForwardingSettings
from forwarding.rules import routing
from forwarding.rules.validation import line_keys
from portal import audit
from portal.connections import notices, tokens
from portal.models import Organization, Person
from portal.provider_urls import connection_base_url
from providers import graph
from providers.addresses import destination_key, display_destination
from providers.base import Connection, ProviderError

log = logging.getLogger(__name__)

REDIRECT_TASK = "forwarding.redirect_call"  # registered by forwarding.calltime.tasks

EVENT_REDIRECTED = audit.Event.CALL_REDIRECTED
EVENT_REDIRECT_FAILED = audit.Event.CALL_REDIRECT_FAILED

BOT_LABEL = "Teams call bot"
# Graph drops an incoming call that is not redirected within 15 seconds (seed 002).
DEADLINE = timedelta(seconds=15)
# A retry is only worth it when it can still finish: its countdown plus one full attempt.
RETRY_COUNTDOWN = 0.5
ATTEMPT_BUDGET = timedelta(seconds=sum(graph.REDIRECT_TIMEOUT))
MAX_ATTEMPTS = 2

# --- the webhook side ----------------------------------------------------------------------------


def notifications_received(*, org: Organization, notifications, now=None) -> list[str]:
    """Apply each notification; return what happened to each ("redirect queued",
    "duplicate", "stale", "unknown call", "updated", "ignored")."""
    now = now or timezone.now()
    outcomes = []
    for notification in notifications:
        if notification.state == "incoming":
            outcomes.append(_incoming(org, notification, now))
        else:
            outcomes.append(_follow_up(org, notification, now))
    return outcomes


def _caller_fields(notification) -> dict:
    source = notification.source
    if source is None:
        return {"caller_kind": "anonymous", "caller_id": "", "caller_label": "Anonymous"}
    label = source.display_name if source.kind == "user" else display_destination(source.id)
    return {"caller_kind": source.kind, "caller_id": source.id[:200],
            "caller_label": (label or source.id)[:200]}


def _incoming(org, notification, now) -> str:
    if notification.api_version != org.graph_api_version:
        # The org chooses the version; a line registered for the other one will answer
        # 404 to the redirect, which the record then shows.
        log.warning("org %s uses Graph %s but call %s came in %s shape", org.pk,
                    org.graph_api_version, notification.call_id, notification.api_version)
    line_id = (notification.line.id if notification.line else "")[:200]
    # One statement: the unique (org, call id) decides, not a SELECT before, so two
    # deliveries racing cannot both win; the called person is found by the INSERT itself.
    try:
        if transaction.get_connection().in_atomic_block:
            # Foreign keys are checked at COMMIT inside a transaction; a savepoint keeps
            # a caller's transaction usable if the row is refused here.
            with transaction.atomic():
                inserted = _insert_record(org, notification, line_id, now)
        else:
            inserted = _insert_record(org, notification, line_id, now)
    except IntegrityError:
        # The org was deleted a moment ago (another process still knew its webhook key).
        log.warning("call %s for a deleted org %s ignored", notification.call_id, org.pk)
        return "ignored"
    if inserted is None:
        # Seen already: Graph (or a proxy) delivered it twice. One redirect per call.
        return "duplicate"
    if isinstance(inserted, CallRecord):
        # Loaded by the INSERT itself (PostgreSQL): this process's redirect thread starts
        # from it; the queue's worker, which gets only the id, loads it again.
        transaction.on_commit(lambda: dispatch_redirect(inserted.pk, loaded=inserted))
    else:
        transaction.on_commit(lambda: dispatch_redirect(inserted))
    return "redirect queued"


def _insert_record(org, notification, line_id, now):
    return storage.insert_call_record({
        "org": org,
        "provider_call_id": notification.call_id,
        "api_version": org.graph_api_version,
        "line_id": line_id,
        "state": "incoming",
        "started_at": now,
        "notifications": [notification.key],
        **_caller_fields(notification),
    })


def _follow_up(org, notification, now) -> str:
    """Apply a follow-up with one conditional UPDATE. A call only moves forward through
    incoming -> redirecting -> terminated -> deleted, so the row is updated only while
    its state ranks below the notification's: a repeated notification (same state) and
    a late one (an earlier state) change nothing. No lock, no transaction of its own."""
    rank = graph.STATE_RANK.get(notification.state)
    if rank is None:
        return "ignored"  # a state a redirecting bot has no use for (e.g. establishing)
    earlier = [state for state, r in graph.STATE_RANK.items() if r < rank]
    if storage.apply_follow_up(
            org_id=org.pk, call_id=notification.call_id, state=notification.state,
            key=notification.key, earlier=earlier, now=now,
            ending=notification.state in ("terminated", "deleted"),
            reason=(notification.termination_reason or "")[:64],
            answer=_answer(notification.answered_by)):
        return "updated"
    # Nothing changed: say why, for the log (a rare path, so one more query is fine).
    current = CallRecord.objects.filter(
        org=org, provider_call_id=notification.call_id).values_list("state", flat=True).first()
    if current is None:
        # The incoming notification never reached us, or the record is gone; acknowledged
        # all the same so that Graph stops sending it.
        return "unknown call"
    return "duplicate" if current == notification.state else "stale"


def _answer(who) -> storage.Answer | None:
    """Who answered (None when the notification does not say), with the label shown
    unless a person of the org has that line id or number: a number, or Teams' name."""
    if who is None:
        return None
    value = f"{who.kind}:{who.id}"[:200]
    if who.kind == "phone":
        return storage.Answer(value, display_destination(who.id)[:200], "phone_number", who.id)
    # Seed 002, example 3: Teams may hide who answered behind an encrypted id.
    label = who.display_name or (
        "Someone Teams does not name" if who.kind == "encrypted" else who.id)
    return storage.Answer(value, label[:200], "provider_person_id", who.id)


def dispatch_redirect(record_id, *, loaded=None) -> str:
    """Start the redirect of a new call: "fast path" when a redirect thread of this
    process took it, else "queued" (or "fallback thread" when the broker is down).

    The redirect threads save the broker round trip, the worker's task overhead and a
    second process's CPU: with 20 calls at once this halves the notification-to-redirect
    time (bench/graph_latency.py). The queue stays the path for overflow, retries and
    recovery, and for deployments that set GRAPH_REDIRECT_THREADS=0."""
    size = getattr(django_settings, "GRAPH_REDIRECT_THREADS", 0)
    if size and threads.pool("graph-redirect", size).submit(handle_incoming, record_id,
                                                            loaded=loaded):
        return "fast path"
    return "queued" if enqueue_redirect(record_id) else "fallback thread"


def _spawn(target):
    threading.Thread(target=target, daemon=True, name="redirect-fallback").start()


def enqueue_redirect(record_id, *, fallback=True) -> bool:
    """Queue the redirect on the `calls` queue. If the broker cannot take it, the web
    process redirects in a thread of its own (`fallback`): with a 15-second deadline
    there is no later for a sweeper to catch up in."""
    try:
        current_app.send_task(REDIRECT_TASK, args=[record_id], queue="calls", retry=False)
        return True
    except Exception as exc:  # the broker is down or unreachable
        if not fallback:
            raise
        log.warning("could not queue the redirect of call record %s (%s); redirecting "
                    "in this process", record_id, exc)

    def run():
        try:
            handle_incoming(record_id, may_enqueue=False)
        except Exception:
            log.exception("fallback redirect of call record %s failed", record_id)
        finally:
            connections.close_all()

    _spawn(run)
    return False


# --- the worker side -----------------------------------------------------------------------------


def _connection(org) -> Connection:
    """The org's Graph connection. Its token was renewed ahead of expiry by beat
    (portal.connections.tasks), so this only reads it; an expired one is renewed here."""
    base_url = connection_base_url(org.provider_kind, org.base_url or graph.DEFAULT_BASE_URL)
    try:
        token = tokens.token_for(org)
    except tokens.ConnectionUnavailable as exc:
        raise ProviderError(exc.message, permanent=exc.needs_person) from exc
    return Connection(base_url=base_url, token=token, org_id=org.provider_org_id,
                      options={"timeout": graph.REDIRECT_TIMEOUT})


def _redirect(org, request):
    """graph.redirect, once more with a renewed token after a 401."""
    conn = _connection(org)
    try:
        return graph.redirect(conn, request)
    except ProviderError as exc:
        if exc.status_code != 401 or tokens.connection_of(org) is None:
            raise
        try:
            fresh = tokens.renew_after_refusal(org, conn.token)
        except tokens.ConnectionUnavailable as unavailable:
            raise ProviderError(unavailable.message, permanent=unavailable.needs_person,
                                status_code=401) from unavailable
    return graph.redirect(replace(conn, token=fresh), request)


def _callback_uri(org) -> str:
    # Graph accepts only an https callbackUri (seed 002); over http the bot's registered
    # callback URL applies.
    url = webhook_url(org)
    return url if url.lower().startswith("https://") else ""


def _settings_of(person):
    """The person's ForwardingSettings as loaded with them (None when they have none)."""
    try:
        return person.forwarding
    except ForwardingSettings.DoesNotExist:
        return None


def _person_for_line(org, line_id):
    if not line_id:
        return None
    return Person.objects.filter(org=org, provider_person_id=line_id).select_related(
        "org").first()


def _caller_aliases(record):
    """(the forms under which routing may know the caller, the caller's person or None):
    a number, or for a Teams user of the org every address of theirs (a rule may list
    their SIP URI or their number). The caller's person came with the record
    (storage.load_for_redirect)."""
    if record.caller_kind == "anonymous" or not record.caller_id:
        return [None], None
    if record.caller_kind == "phone":
        return [record.caller_id], None
    person = getattr(record, "caller_person", None)
    if person is not None and person.lines():
        return person.lines(), person
    return [f"user:{record.caller_id}"], person


def decide_for_call(rules, aliases, *, at) -> routing.Decision:
    """routing.decide for a caller known under several addresses: the caller rule that
    comes first for any of them wins; every other step does not depend on the caller."""
    decisions = [routing.decide(rules, caller=a, at=at, line_state="idle") for a in aliases]
    by_rule = [d for d in decisions if d.rule.startswith("caller_rule:")]
    if by_rule:
        return min(by_rule, key=lambda d: int(d.rule.split(":", 1)[1]))
    return decisions[0]


def redirect_targets(org, person, decision) -> list[tuple[graph.RedirectTarget, str, str]]:
    """(identity, label, destination) for each target of `decision`, in order, without
    repeats and at most 25 (Graph's simultaneous ring limit). A destination that is a
    person of the org rings their Teams identity (their Graph user id); other numbers
    ring as phones; no target at all rings the person themself."""
    destinations = list(decision.targets)
    if not destinations:
        destinations = ["self"]
    # The person's own line (no rule, simultaneous ring) needs no query.
    own = line_keys(person, region=org.default_region)
    people = {d: person for d in destinations if d == "self" or destination_key(d) in own}
    others = [d for d in destinations if d not in people]
    if others:
        # One query, or none for a lookup made in the last seconds (directory_cache).
        people.update(directory_cache.people_behind(org, others, org.default_region))
    out, seen = [], set()
    for destination in destinations:
        target_person = people.get(destination)
        if target_person is not None:
            target = graph.RedirectTarget("user", target_person.provider_person_id,
                                          target_person.display_name)
            label = target_person.display_name
        else:
            target = graph.target_for(destination)
            label = display_destination(destination)
        if (target.kind, target.id) in seen:
            continue
        seen.add((target.kind, target.id))
        out.append((target, label, destination))
    return out[:graph.MAX_TARGETS]


def handle_incoming(record_id, *, attempt=1, may_enqueue=True, loaded=None):
    """Decide and redirect one incoming call (the `calls` queue's task body). Idempotent:
    a record that is not waiting for this attempt is left alone. `loaded`: the new record
    as its INSERT read it (storage.insert_call_record), which spares a SELECT; the claim
    below still decides whether it is still waiting."""
    expected = CallRecord.PENDING if attempt == 1 else CallRecord.RETRYING
    if loaded is not None and attempt == 1 and loaded.redirect_status == expected:
        record = loaded
    else:
        record = storage.load_for_redirect(record_id, expected)
    if record is None:
        return None
    org = record.org
    now = timezone.now()
    if now >= record.started_at + DEADLINE:
        record_failure(record, expected, attempt=attempt, status_code=None, message=(
            "A worker picked the call up after Graph's 15-second deadline; are the workers "
            "of the calls queue running?"))
        return None
    person = record.person
    if person is not None:
        person.org = org  # the same row: the INSERT looked the person up in this org
    else:
        person = _person_for_line(org, record.line_id)  # mapped since the call came in?
    if person is None:
        record_failure(record, expected, attempt=attempt, status_code=None, message=(
            f"No person of {org.name} has the Teams line id {record.line_id or '(none)'}; "
            "set it as the person's provider person id."))
        return None

    if attempt > 1 and record.redirect_body:
        # A retry sends exactly what the first attempt decided.
        request = _request_from_record(record)
        decided = {}
    else:
        rules = routing.rules_from(_settings_of(person), person=person)
        aliases, caller = _caller_aliases(record)
        decision = decide_for_call(rules, aliases, at=now)
        targets = redirect_targets(org, person, decision)
        request = graph.RedirectRequest(
            call_id=record.provider_call_id, api_version=record.api_version,
            targets=tuple(t for t, _label, _dest in targets),
            disposition=decision.disposition, timeout=decision.timeout,
            mask_caller=decision.mask_caller, mask_callee=decision.mask_callee,
            callback_uri=_callback_uri(org),
        )
        decided = {
            "person": person, "rule": decision.rule, "explanation": decision.explanation[:500],
            "targets": [dest for _t, _l, dest in targets],
            "target_labels": [label for _t, label, _d in targets],
            "disposition": decision.disposition, "timeout": decision.timeout,
            "redirect_body": graph.redirect_body(request),
        }
        if caller is not None:
            decided["caller_label"] = caller.display_name[:200]
    # Recorded before the request goes out (and claimed: only one worker sends it).
    claimed = storage.update_call(record.pk, expected=expected,
                                  redirect_status=CallRecord.SENDING, redirect_attempts=attempt,
                                  **decided)
    if not claimed:
        return None
    for name, value in decided.items():
        setattr(record, name, value)
    record.person = person

    try:
        result = _redirect(org, request)
    except ProviderError as exc:
        _after_failure(record, exc, attempt=attempt, may_enqueue=may_enqueue)
        return exc
    _after_success(record, result, attempt=attempt)
    return result


def _request_from_record(record) -> graph.RedirectRequest:
    body = record.redirect_body or {}
    targets = []
    for item in body.get("targets", []):
        identity = item.get("identity", item)
        for kind in graph.TARGET_KINDS:
            if kind in identity:
                targets.append(graph.RedirectTarget(kind, identity[kind]["id"],
                                                    identity[kind].get("displayName", "")))
    return graph.RedirectRequest(
        call_id=record.provider_call_id, api_version=record.api_version,
        targets=tuple(targets), disposition=record.disposition or "ring",
        timeout=record.timeout, mask_caller=bool(body.get("maskCaller")),
        mask_callee=bool(body.get("maskCallee")), callback_uri=body.get("callbackUri", ""),
    )


def _latency_ms(record, at) -> int:
    return max(0, int((at - record.started_at).total_seconds() * 1000))


def _audit_data(record, **extra) -> dict:
    return {
        "call_id": record.provider_call_id, "api_version": record.api_version,
        "caller": record.caller_label, "rule": record.rule, "targets": record.targets,
        "disposition": record.disposition, "timeout": record.timeout,
        "attempts": record.redirect_attempts, **extra,
    }


def _after_success(record, result, *, attempt):
    now = timezone.now()
    latency = _latency_ms(record, now)
    notices.note_success(tokens.connection_of(record.org), now)
    # The outcome and its audit row in one statement. Still ours: a reply that came after
    # recovery closed the call changes nothing (and writes no audit row).
    row = audit.row_values(
        event=EVENT_REDIRECTED, actor=audit.Actor.system(BOT_LABEL), org=record.org,
        person=record.person, new={"targets": record.target_labels, "rule": record.rule},
        data=_audit_data(record, status=result.status_code, latency_ms=latency,
                         request_id=result.request_id, attempts=attempt))
    if not storage.update_call_audited(
            record.pk, expected=CallRecord.SENDING, audit_row=row,
            redirect_status=CallRecord.REDIRECTED, redirect_status_code=result.status_code,
            redirected_at=now, latency_ms=latency, redirect_error=""):
        log.warning("call record %s: Graph accepted the redirect after the call was "
                    "closed as failed", record.pk)


def _after_failure(record, exc: ProviderError, *, attempt, may_enqueue):
    now = timezone.now()
    wait = RETRY_COUNTDOWN
    if exc.retry_after is not None:
        wait = max(wait, exc.retry_after)
    room = record.started_at + DEADLINE - timedelta(seconds=wait) - ATTEMPT_BUDGET
    if not exc.permanent and attempt < MAX_ATTEMPTS and now < room and may_enqueue:
        with transaction.atomic():
            CallRecord.objects.filter(pk=record.pk, redirect_status=CallRecord.SENDING).update(
                redirect_status=CallRecord.RETRYING, redirect_error=exc.message[:500],
                redirect_status_code=exc.status_code)
            transaction.on_commit(
                lambda: _enqueue_retry(record, attempt=attempt + 1, countdown=wait))
        return
    record_failure(record, CallRecord.SENDING, attempt=attempt, status_code=exc.status_code,
                   message=exc.message)


def _enqueue_retry(record, *, attempt, countdown):
    try:
        current_app.send_task(REDIRECT_TASK, args=[record.pk], kwargs={"attempt": attempt},
                              queue="calls", countdown=countdown, retry=False)
    except Exception as exc:
        log.warning("could not queue the retry of call record %s: %s", record.pk, exc)
        record_failure(record, CallRecord.RETRYING, attempt=attempt - 1, status_code=None,
                       message="The redirect failed and its retry could not be queued.")


def record_failure(record, expected, *, attempt, status_code, message) -> bool:
    """Close the call as failed, with its audit row, if its redirect is still in state
    `expected` (also used by forwarding.calltime.recovery); False when it was not."""
    with transaction.atomic():
        updated = CallRecord.objects.filter(pk=record.pk, redirect_status=expected).update(
            redirect_status=CallRecord.FAILED, redirect_error=message[:500],
            redirect_status_code=status_code, redirect_attempts=attempt)
        if not updated:
            return False
        record.redirect_attempts = attempt
        audit.record(
            event=EVENT_REDIRECT_FAILED, actor=audit.Actor.system(BOT_LABEL), org=record.org,
            person=record.person,
            data=_audit_data(record, status=status_code, error=message[:500]),
        )
    return True

