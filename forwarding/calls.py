"""Call-time forwarding: the Microsoft Graph bot's services, and the Lync Server manifest.

Graph (seeds 002 and 003). The webhook hands parsed notifications to
`notifications_received`:

- an `incoming` notification creates the call's CallRecord (its unique (org, call id)
  makes a repeated notification harmless) and, once committed, enqueues
  `forwarding.redirect_call` on the `calls` queue, which no bulk work shares;
- a follow-up (`redirecting`, `terminated` with `answeredBy`, `deleted`) completes the
  record; a repeated one, or one older than the state already recorded, is ignored.

The worker runs `handle_incoming`: it finds the called person (the line id), asks
forwarding.routing where the call goes, records the decision and the body it is about to
send, POSTs the redirect, and records the outcome with its audit row
(`call.redirected` or `call.redirect_failed`) in one transaction. A transient failure is
retried once, 0.5 s later, when Graph's 15-second deadline still leaves room.

Lync Server 2013 (seed 004): `manifest_for` compiles every person's always-forward and
caller rules into an MSPL application manifest; `manifest_download` audits each
download (`manifest.downloaded`) and `manifest_status` tells whether the rules changed
since the last one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Case, CharField, F, Func, JSONField, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from portal import audit
from portal.models import AuditEvent, Organization, Person
from providers import graph, lync
from providers.base import Connection, ProviderError
from providers.capabilities import capabilities_for

from . import routing
from .models import CallRecord, ForwardingSettings
from .validation import destination_key, display_destination, line_keys

log = logging.getLogger(__name__)

EVENT_REDIRECTED = "call.redirected"
EVENT_REDIRECT_FAILED = "call.redirect_failed"
EVENT_MANIFEST_DOWNLOADED = "manifest.downloaded"
EVENTS = {
    EVENT_REDIRECTED: "Call redirected",
    EVENT_REDIRECT_FAILED: "Call could not be redirected",
    EVENT_MANIFEST_DOWNLOADED: "MSPL manifest downloaded",
}

BOT_LABEL = "Teams call bot"
# Graph drops an incoming call that is not redirected within 15 seconds (seed 002).
DEADLINE = timedelta(seconds=15)
# A retry is only worth it when it can still finish: its countdown plus one full attempt.
RETRY_COUNTDOWN = 0.5
_ATTEMPT_BUDGET = timedelta(seconds=sum(graph.REDIRECT_TIMEOUT))
MAX_ATTEMPTS = 2

# --- the webhook side ----------------------------------------------------------------------------


def org_for_webhook(key: str) -> Organization | None:
    """The Graph org whose webhook URL carries `key`, or None."""
    if not key or len(key) > 64:
        return None
    # Only what the webhook needs: not the (encrypted) credentials.
    return Organization.objects.filter(webhook_key=key, provider_kind="graph").only(
        "id", "name", "provider_kind", "graph_api_version", "webhook_key").first()


def webhook_path(org: Organization) -> str:
    return reverse("graph_webhook", args=[org.webhook_key])


def webhook_url(org: Organization) -> str:
    """The callback URL to register for the org's bot (shown on the org's page)."""
    return django_settings.PUBLIC_URL + webhook_path(org)


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
    record = _insert_once(
        org=org,
        provider_call_id=notification.call_id,
        api_version=org.graph_api_version,
        line_id=line_id,
        # The called person, found by the INSERT itself (no round trip of its own).
        person_id=Subquery(Person.objects.filter(org=org, provider_person_id=line_id)
                           .values("pk")[:1]),
        state="incoming",
        started_at=now,
        notifications=[notification.key],
        **_caller_fields(notification),
    )
    if record is None:
        # Seen already: Graph (or a proxy) delivered it twice. One redirect per call.
        return "duplicate"
    record_id = record.pk
    transaction.on_commit(lambda: enqueue_redirect(record_id))
    return "redirect queued"


def _insert_once(**values):
    """The new CallRecord, or None when its (org, call id) exists already. The unique
    constraint decides, not a SELECT before: two deliveries racing cannot both win."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: the caller's transaction survives
                return CallRecord.objects.create(**values)
        # In autocommit one INSERT is its own transaction: no BEGIN/COMMIT round trips.
        return CallRecord.objects.create(**values)
    except IntegrityError:
        return None


def _follow_up(org, notification, now) -> str:
    """Apply a follow-up with one conditional UPDATE. A call only moves forward through
    incoming -> redirecting -> terminated -> deleted, so the row is updated only while
    its state ranks below the notification's: a repeated notification (same state) and
    a late one (an earlier state) change nothing. No lock, no transaction of its own."""
    rank = graph.STATE_RANK.get(notification.state)
    if rank is None:
        return "ignored"  # a state a redirecting bot has no use for (e.g. establishing)
    earlier = [state for state, r in graph.STATE_RANK.items() if r < rank]
    changes = {
        "state": notification.state,
        "notifications": _JsonAppend("notifications", notification.key),
    }
    if notification.state in ("terminated", "deleted"):
        changes["ended_at"] = Coalesce(F("ended_at"), Value(now))
    if notification.answered_by:
        who = notification.answered_by
        first = Q(answered_by="")
        changes["answered_by"] = Case(
            When(first, then=Value(f"{who.kind}:{who.id}"[:200])), default=F("answered_by"))
        changes["answered_by_label"] = Case(
            When(first, then=_identity_label(org, who)), default=F("answered_by_label"))
    if notification.termination_reason:
        changes["termination_reason"] = notification.termination_reason[:64]
    updated = CallRecord.objects.filter(
        org=org, provider_call_id=notification.call_id, state__in=earlier).update(**changes)
    if updated:
        return "updated"
    # Nothing changed: say why, for the log (a rare path, so one more query is fine).
    current = CallRecord.objects.filter(
        org=org, provider_call_id=notification.call_id).values_list("state", flat=True).first()
    if current is None:
        # The incoming notification never reached us, or the record is gone; acknowledged
        # all the same so that Graph stops sending it.
        return "unknown call"
    return "duplicate" if current == notification.state else "stale"


class _JsonAppend(Func):
    """`column || '["value"]'::jsonb`: append one string to a JSON array column."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = JSONField()

    def __init__(self, column, value):
        super().__init__(F(column), Value([value], output_field=JSONField()))


def _identity_label(org, identity):
    """Who answered, for pages: the person of the org with that identity (looked up by
    the UPDATE itself), else a readable form of the identity."""
    if identity.kind == "phone":
        fallback = display_destination(identity.id)
        people = Person.objects.filter(org=org, phone_number=identity.id)
    else:
        # Seed 002, example 3: Teams may hide who answered behind an encrypted id.
        fallback = identity.display_name or (
            "Someone Teams does not name" if identity.kind == "encrypted" else identity.id)
        people = Person.objects.filter(org=org, provider_person_id=identity.id)
    return Coalesce(
        Subquery(people.order_by("id").values("display_name")[:1]),
        Value(fallback[:200]), output_field=CharField())


def _spawn(target):
    threading.Thread(target=target, daemon=True, name="redirect-fallback").start()


def enqueue_redirect(record_id) -> bool:
    """Queue the redirect on the `calls` queue. If the broker cannot take it, the web
    process redirects in a thread of its own: with a 15-second deadline there is no
    later for a sweeper to catch up in."""
    from .tasks import redirect_call

    try:
        redirect_call.apply_async(args=[record_id], queue="calls", retry=False)
        return True
    except Exception as exc:  # the broker is down or unreachable
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
    return Connection(base_url=org.base_url or graph.DEFAULT_BASE_URL,
                      token=org.credentials.get("token", ""), org_id=org.provider_org_id,
                      options={"timeout": graph.REDIRECT_TIMEOUT})


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


def _caller_aliases(org, record):
    """(the forms under which routing may know the caller, the caller's person or None):
    a number, or for a Teams user of the org every address of theirs (a rule may list
    their SIP URI or their number)."""
    if record.caller_kind == "anonymous" or not record.caller_id:
        return [None], None
    if record.caller_kind == "phone":
        return [record.caller_id], None
    person = Person.objects.filter(org=org, provider_person_id=record.caller_id).only(
        "display_name", "sip_uri", "phone_number", "extension").first()
    if person is not None and person.lines():
        return person.lines(), person
    return [f"user:{record.caller_id}"], person


def decide_for_call(plan, aliases, *, at) -> routing.Decision:
    """routing.decide for a caller known under several addresses: the caller rule that
    comes first for any of them wins; every other step does not depend on the caller."""
    decisions = [routing.decide(plan, caller=a, at=at, line_state="idle") for a in aliases]
    by_rule = [d for d in decisions if d.rule.startswith("caller_rule:")]
    if by_rule:
        return min(by_rule, key=lambda d: int(d.rule.split(":", 1)[1]))
    return decisions[0]


def _people_at(org, destinations, region):
    """Destination -> person of the org it reaches (one query)."""
    numbers = [d for d in destinations if not d.lower().startswith(("sip:", "sips:"))]
    sips = [destination_key(d) for d in destinations if d.lower().startswith(("sip:", "sips:"))]
    condition = Q(phone_number__in=numbers) | Q(extension__in=numbers)
    for sip in sips:
        condition |= Q(sip_uri__istartswith=sip)
    found = {}
    people = Person.objects.filter(org=org).filter(condition).only(
        "id", "display_name", "phone_number", "extension", "sip_uri", "provider_person_id")
    for person in people:
        keys = line_keys(person, region=region)
        for destination in destinations:
            if destination_key(destination) in keys:
                found.setdefault(destination, person)
    return found


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
        people.update(_people_at(org, others, org.default_region))
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


def handle_incoming(record_id, *, attempt=1, may_enqueue=True):
    """Decide and redirect one incoming call (the `calls` queue's task body). Idempotent:
    a record that is not waiting for this attempt is left alone."""
    expected = CallRecord.PENDING if attempt == 1 else CallRecord.RETRYING
    # One query for the call, its org, the called person and their settings: every round
    # trip to the database counts against Graph's deadline.
    record = (CallRecord.objects.select_related("org", "person", "person__forwarding")
              .filter(pk=record_id, redirect_status=expected).first())
    if record is None:
        return None
    org = record.org
    now = timezone.now()
    if now >= record.started_at + DEADLINE:
        _fail(record, expected, attempt=attempt, status_code=None, message=(
            "A worker picked the call up after Graph's 15-second deadline; are the workers "
            "of the calls queue running?"))
        return None
    person = record.person
    if person is not None:
        person.org = org  # the same row: the INSERT looked the person up in this org
    else:
        person = _person_for_line(org, record.line_id)  # mapped since the call came in?
    if person is None:
        _fail(record, expected, attempt=attempt, status_code=None, message=(
            f"No person of {org.name} has the Teams line id {record.line_id or '(none)'}; "
            "set it as the person's provider person id."))
        return None

    if attempt > 1 and record.redirect_body:
        # A retry sends exactly what the first attempt decided.
        request = _request_from_record(record)
        decided = {}
    else:
        plan = routing.plan_from(_settings_of(person), person=person)
        aliases, caller = _caller_aliases(org, record)
        decision = decide_for_call(plan, aliases, at=now)
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
    claimed = CallRecord.objects.filter(pk=record.pk, redirect_status=expected).update(
        redirect_status=CallRecord.SENDING, redirect_attempts=attempt, **decided)
    if not claimed:
        return None
    for name, value in decided.items():
        setattr(record, name, value)
    record.person = person

    try:
        result = graph.redirect(_connection(org), request)
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
    with transaction.atomic():
        CallRecord.objects.filter(pk=record.pk).update(
            redirect_status=CallRecord.REDIRECTED, redirect_status_code=result.status_code,
            redirected_at=now, latency_ms=latency, redirect_error="")
        audit.record(
            event=EVENT_REDIRECTED, actor=audit.Actor.system(BOT_LABEL), org=record.org,
            person=record.person,
            new={"targets": record.target_labels, "rule": record.rule},
            data=_audit_data(record, status=result.status_code, latency_ms=latency,
                             request_id=result.request_id, attempts=attempt),
        )


def _after_failure(record, exc: ProviderError, *, attempt, may_enqueue):
    now = timezone.now()
    wait = RETRY_COUNTDOWN
    if exc.retry_after is not None:
        wait = max(wait, exc.retry_after)
    room = record.started_at + DEADLINE - timedelta(seconds=wait) - _ATTEMPT_BUDGET
    if not exc.permanent and attempt < MAX_ATTEMPTS and now < room and may_enqueue:
        with transaction.atomic():
            CallRecord.objects.filter(pk=record.pk, redirect_status=CallRecord.SENDING).update(
                redirect_status=CallRecord.RETRYING, redirect_error=exc.message[:500],
                redirect_status_code=exc.status_code)
            transaction.on_commit(
                lambda: _enqueue_retry(record, attempt=attempt + 1, countdown=wait))
        return
    _fail(record, CallRecord.SENDING, attempt=attempt, status_code=exc.status_code,
          message=exc.message)


def _enqueue_retry(record, *, attempt, countdown):
    from .tasks import redirect_call

    try:
        redirect_call.apply_async(args=[record.pk], kwargs={"attempt": attempt},
                                  queue="calls", countdown=countdown, retry=False)
    except Exception as exc:
        log.warning("could not queue the retry of call record %s: %s", record.pk, exc)
        _fail(record, CallRecord.RETRYING, attempt=attempt - 1, status_code=None,
              message="The redirect failed and its retry could not be queued.")


def _fail(record, expected, *, attempt, status_code, message):
    with transaction.atomic():
        updated = CallRecord.objects.filter(pk=record.pk, redirect_status=expected).update(
            redirect_status=CallRecord.FAILED, redirect_error=message[:500],
            redirect_status_code=status_code, redirect_attempts=attempt)
        if not updated:
            return
        record.redirect_attempts = attempt
        audit.record(
            event=EVENT_REDIRECT_FAILED, actor=audit.Actor.system(BOT_LABEL), org=record.org,
            person=record.person,
            data=_audit_data(record, status=status_code, error=message[:500]),
        )


# --- reads for pages ------------------------------------------------------------------------------


def recent_calls(person, *, limit=100):
    """The person's calls, newest first."""
    return CallRecord.objects.filter(person=person).order_by("-started_at", "-id")[:limit]


# --- Lync Server: the MSPL manifest ---------------------------------------------------------------


def app_uri(org) -> str:
    return f"{django_settings.PUBLIC_URL}/lync/{org.pk}/forwarding"


def _org_index(org) -> dict:
    """Destination key -> person, for every person of the org (the manifest covers the
    whole org anyway: one query)."""
    index = {}
    people = Person.objects.filter(org=org).order_by("display_name", "id").only(
        "id", "display_name", "phone_number", "extension", "sip_uri")
    for person in people:
        for key in line_keys(person, region=org.default_region):
            index.setdefault(key, person)
    return index


def _lync_address(destination, index):
    """A destination as the manifest dials it: a person of the org by their SIP URI."""
    target = index.get(destination_key(destination))
    if target is not None and target.sip_uri:
        return target.sip_uri
    return destination


def lync_rules(org) -> list[lync.PersonRules]:
    """Every person's always-forward and caller rules, as the compiler takes them, in
    the precedence of forwarding.routing (caller rules, then always-forward); features
    Lync does not support are left out, as routing.decide would skip them."""
    caps = capabilities_for(org.provider_kind)
    index = _org_index(org)
    rows = (ForwardingSettings.objects.filter(person__org=org)
            .select_related("person__org").prefetch_related("caller_rules")
            .order_by("person__id"))
    people = []
    for row in rows:
        person = row.person
        address = person.sip_uri or person.phone_number
        if not address:
            continue
        plan = routing.plan_from(row, person=person, caps=caps)
        always = ""
        if caps.supports("always") and plan.always_enabled and plan.always_destination:
            always = _lync_address(plan.always_destination, index)
        rules = []
        if caps.supports("caller_rules"):
            for rule in plan.caller_rules:
                disposition = rule.disposition if rule.disposition in caps.dispositions \
                    else "forward"
                rules.append(lync.CallerRule(
                    callers=tuple(rule.callers),
                    destination=_lync_address(rule.destination, index),
                    disposition=disposition, match_anonymous=rule.match_anonymous,
                ))
        people.append(lync.PersonRules(address=address, caller_rules=tuple(rules),
                                       always_destination=always))
    return people


def manifest_for(org) -> bytes:
    return lync.compile_manifest(lync_rules(org), app_uri=app_uri(org))


def manifest_filename(org) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in (org.provider_org_id or str(org.pk)))
    return f"callforward-{slug.strip('-').lower() or org.pk}.am"


@transaction.atomic
def manifest_download(*, org, actor: audit.Actor) -> bytes:
    """The org's manifest, with the audit row that says who downloaded which version."""
    rules = lync_rules(org)
    manifest = lync.compile_manifest(rules, app_uri=app_uri(org))
    people = sum(1 for p in rules if p.has_rules)
    audit.record(
        event=EVENT_MANIFEST_DOWNLOADED, actor=actor, org=org,
        data={"sha256": hashlib.sha256(manifest).hexdigest(), "bytes": len(manifest),
              "people_with_rules": people, "filename": manifest_filename(org)},
    )
    return manifest


def manifest_status(org) -> dict:
    """When the rules last changed and when the manifest was last downloaded; `changed`
    is True when a change came after the last download (or nothing was downloaded)."""
    events = AuditEvent.objects.filter(org=org).order_by("-created_at", "-id")
    downloaded = events.filter(event=EVENT_MANIFEST_DOWNLOADED).values_list(
        "created_at", flat=True).first()
    changed_at = events.filter(event__startswith="forwarding.").values_list(
        "created_at", flat=True).first()
    return {
        "downloaded_at": downloaded,
        "changed_at": changed_at,
        "changed": changed_at is not None and (downloaded is None or changed_at > downloaded),
    }
