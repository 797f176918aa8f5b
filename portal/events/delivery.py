"""Delivering events: one attempt of one delivery at a time (claimed with a conditional
UPDATE, so two workers never send the same delivery at once), its attempt row written
before the request and completed after it, retries with exponential backoff and jitter,
and the endpoint disabled, its admins emailed once, after a long run of failures."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal import audit
from portal.audit import Event
from portal.connections.notices import admin_emails
from portal.events import netguard, outbox, signing
from portal.models import (
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
)

log = logging.getLogger("portal.events")

EXCERPT_CHARS = 500
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0


def backoff_seconds(attempts: int, *, rand=random.random) -> float:
    """How long to wait after the `attempts`-th failed attempt: base * 2**(n-1), capped,
    then between half and all of it, so endpoints that failed together do not all come
    back at the same moment."""
    full = min(settings.EVENTS_BACKOFF_CAP,
               settings.EVENTS_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return full / 2 + rand() * full / 2


def _claim_seconds() -> float:
    connect, read = settings.EVENTS_TIMEOUT
    return connect + read + 30


def signing_secrets(endpoint, now=None) -> list[str]:
    """The current secret, and the previous one while its day of grace lasts."""
    now = now or timezone.now()
    found = [endpoint.secrets["current"]]
    previous, until = endpoint.secrets.get("previous"), endpoint.secrets.get("previous_until")
    if previous and until and datetime.fromisoformat(until) > now:
        found.append(previous)
    return found


def send(endpoint, event, *, http=None) -> Outcome:
    """POST the event to the endpoint once; never raises."""
    allow = settings.EVENTS_ALLOW_INSECURE_URLS
    problem = netguard.url_problem(endpoint.url, allow_insecure=True)  # shape only
    if problem:
        return Outcome(ok=False, error=problem[:300])
    if not allow and not endpoint.url.lower().startswith("https://"):
        return Outcome(ok=False, error="the URL is not https")
    body = event.body.encode("utf-8")
    headers = signing.headers(signing_secrets(endpoint), event.message_id, int(time.time()),
                              body)
    headers["Content-Type"] = "application/json"
    http = http or netguard.session(allow_insecure=allow, timeout=settings.EVENTS_TIMEOUT)
    started = time.monotonic()
    try:
        response = http.post(endpoint.url, data=body, headers=headers, stream=True)
        try:
            excerpt = response.raw.read(EXCERPT_CHARS * 4, decode_content=True)
        finally:
            response.close()
    except netguard.RefusedAddress as exc:
        return Outcome(ok=False, error=str(exc)[:300], duration_ms=_ms(started))
    except requests.Timeout:
        return Outcome(ok=False, error="no answer within the timeout", duration_ms=_ms(started))
    except requests.RequestException as exc:
        return Outcome(ok=False, error=f"could not connect: {type(exc).__name__}"[:300],
                       duration_ms=_ms(started))
    text = excerpt.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    ok = 200 <= response.status_code < 300
    return Outcome(ok=ok, status_code=response.status_code, excerpt=text,
                   error="" if ok else f"answered {response.status_code}",
                   duration_ms=_ms(started))


def _ms(started) -> int:
    return int((time.monotonic() - started) * 1000)


def attempt(delivery_id: int) -> str:
    """Try delivery `delivery_id` once if it is due and nobody else holds it. Returns
    what happened ("skipped", "succeeded", "retrying", "failed")."""
    now = timezone.now()
    claimed = EventDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
        endpoint__enabled=True,
    ).update(status=DeliveryStatus.SENDING,
             claimed_until=now + timedelta(seconds=_claim_seconds()))
    if not claimed:
        return "skipped"
    delivery = EventDelivery.objects.select_related("event", "endpoint__org").get(pk=delivery_id)
    number = delivery.attempts + 1
    row = DeliveryAttempt.objects.create(delivery=delivery, number=number, started_at=now)
    result = send(delivery.endpoint, delivery.event)
    return record(delivery, row, result)


def record(delivery, row, result: Outcome) -> str:
    now = timezone.now()
    number = row.number
    DeliveryAttempt.objects.filter(pk=row.pk).update(
        duration_ms=result.duration_ms, status_code=result.status_code,
        error=result.error[:300], response_excerpt=result.excerpt[:EXCERPT_CHARS])
    endpoint = delivery.endpoint
    with transaction.atomic():
        if result.ok:
            EventDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.SUCCEEDED, attempts=number, delivered_at=now,
                claimed_until=None, last_status_code=result.status_code, last_error="")
            EventEndpoint.objects.filter(pk=endpoint.pk).exclude(
                consecutive_failures=0, failing_since=None).update(
                consecutive_failures=0, failing_since=None)
            return "succeeded"
        gave_up = number >= settings.EVENTS_MAX_ATTEMPTS
        wait = backoff_seconds(number)
        EventDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
            attempts=number, claimed_until=None, last_status_code=result.status_code,
            last_error=result.error[:300], next_attempt_at=now + timedelta(seconds=wait))
        EventEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce(F("failing_since"), now))
        endpoint.refresh_from_db(fields=["consecutive_failures", "failing_since", "enabled"])
        if _should_disable(endpoint, now):
            disable_failing(endpoint, now=now)
        elif not gave_up:
            transaction.on_commit(lambda: outbox.enqueue(delivery.pk, countdown=wait))
    return "failed" if gave_up else "retrying"


def _should_disable(endpoint, now) -> bool:
    if not endpoint.enabled:
        return False
    if endpoint.consecutive_failures >= settings.EVENTS_DISABLE_AFTER_FAILURES:
        return True
    return (endpoint.failing_since is not None and now - endpoint.failing_since
            >= timedelta(hours=settings.EVENTS_DISABLE_AFTER_HOURS))


def disable_failing(endpoint, *, now) -> bool:
    """Turn the endpoint off after its run of failures (once: a conditional UPDATE), write
    the audit row, and email the org's admins the first time in this run."""
    reason = (f"Disabled after {endpoint.consecutive_failures} failed attempts in a row "
              f"(failing since {timezone.localtime(endpoint.failing_since):%Y-%m-%d %H:%M}).")
    changed = EventEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_at=now, disabled_reason=reason[:300])
    if not changed:
        return False
    audit.record(event=Event.EVENT_ENDPOINT_DISABLED, actor=audit.Actor.system("event delivery"),
                 org=endpoint.org, data={"endpoint_id": endpoint.pk, "url": endpoint.url,
                                         "reason": reason})
    first = EventEndpoint.objects.filter(pk=endpoint.pk, disabled_notified_at__isnull=True
                                         ).update(disabled_notified_at=now)
    if first:
        recipients = admin_emails(endpoint.org)
        if recipients:
            org, url = endpoint.org, endpoint.url
            transaction.on_commit(lambda: _send_disabled_mail(org, url, reason, recipients))
    return True


def _send_disabled_mail(org, url, reason, recipients):
    send_mail(
        f"{org.name}: an event endpoint was turned off",
        f"The portal could not deliver events to {url}.\n{reason}\n\n"
        "Events for it are kept and wait. Once the receiver answers again, enable the "
        f"endpoint on the Events page and they are sent:\n"
        f"{settings.PUBLIC_URL}/orgs/{org.pk}/events/\n",
        None, recipients, fail_silently=True,
    )


def sweep(now=None) -> int:
    """Beat's catch-up: hand back deliveries whose worker died mid-attempt, and queue every
    due one (what on_commit or a countdown missed). Returns how many were queued."""
    now = now or timezone.now()
    stale = list(EventDelivery.objects.filter(status=DeliveryStatus.SENDING,
                                              claimed_until__lt=now).values_list("pk", flat=True))
    if stale:
        DeliveryAttempt.objects.filter(delivery_id__in=stale, status_code__isnull=True,
                                       error="").update(error="no outcome recorded (worker "
                                                              "stopped)")
        EventDelivery.objects.filter(pk__in=stale, status=DeliveryStatus.SENDING,
                                     claimed_until__lt=now).update(
            status=DeliveryStatus.PENDING, claimed_until=None, next_attempt_at=now,
            attempts=F("attempts") + 1)
    due = list(EventDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True,
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in due:
        outbox.enqueue(pk)
    return len(due)
