"""Delivery against the sandbox's receiver over real HTTP: signatures a receiver accepts,
the attempt log, retries with growing waits, giving up, the endpoint disabled after a run
of failures with one email, and the sweeper."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal import audit
from portal.audit import Actor, Event
from portal.events import delivery, signing
from portal.models import (
    AuditEvent,
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
)

from .conftest import received

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(acme, sandbox):
    org, _admin = acme
    secret = signing.new_secret()
    sandbox.control("PUT", "events/acme", expect=200, json={"secret": secret})
    endpoint = EventEndpoint.objects.create(org=org, url=f"{sandbox.url}/events/acme",
                                            secrets={"current": secret})
    return endpoint, secret


def announce(org):
    audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system("tester"), org=org,
                 new={"busy_enabled": True})
    return EventDelivery.objects.latest("id")


def test_a_delivery_reaches_the_receiver_signed_and_is_logged(hook, sandbox):
    endpoint, secret = hook
    d = announce(endpoint.org)
    assert delivery.attempt(d.pk) == "succeeded"
    [got] = received(sandbox, "acme")
    assert got["signatureValid"] is True
    assert got["webhookId"] == d.event.message_id
    assert got["json"]["type"] == "forwarding.updated"
    assert got["headers"]["content-type"] == "application/json"
    signing.verify(secret, got["headers"], got["body"].encode())  # our recipe agrees
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    [attempt] = DeliveryAttempt.objects.filter(delivery=d)
    assert attempt.status_code == 200 and attempt.duration_ms is not None
    assert json.loads(attempt.response_excerpt) == {"received": True}
    # Claimed once: asking again sends nothing more.
    assert delivery.attempt(d.pk) == "skipped"
    assert len(received(sandbox, "acme")) == 1


def test_a_failing_receiver_is_retried_later_with_growing_waits(hook, sandbox, settings):
    settings.EVENTS_BACKOFF_BASE = 10
    settings.EVENTS_MAX_ATTEMPTS = 3
    endpoint, _secret = hook
    sandbox.control("PUT", "events/acme", expect=200, json={"failStatus": 500})
    d = announce(endpoint.org)
    waits = []
    for _ in range(2):
        before = timezone.now()
        assert delivery.attempt(d.pk) == "retrying"
        d.refresh_from_db()
        waits.append((d.next_attempt_at - before).total_seconds())
        assert delivery.attempt(d.pk) == "skipped"  # not due yet
        EventDelivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert 5 <= waits[0] <= 10.5 and 10 <= waits[1] <= 20.5
    assert delivery.attempt(d.pk) == "failed"
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == (DeliveryStatus.FAILED, 3, 500)
    attempts = list(DeliveryAttempt.objects.filter(delivery=d).values_list("number",
                                                                          "status_code"))
    assert attempts == [(1, 500), (2, 500), (3, 500)]
    # Every attempt carried the same id and body.
    got = received(sandbox, "acme")
    assert {g["webhookId"] for g in got} == {d.event.message_id}
    assert {g["body"] for g in got} == {d.event.body}


def test_backoff_is_exponential_with_jitter_and_capped(settings):
    settings.EVENTS_BACKOFF_BASE, settings.EVENTS_BACKOFF_CAP = 30, 3600
    assert delivery.backoff_seconds(1, rand=lambda: 0) == 15
    assert delivery.backoff_seconds(1, rand=lambda: 1) == 30
    assert delivery.backoff_seconds(3, rand=lambda: 1) == 120
    assert delivery.backoff_seconds(20, rand=lambda: 1) == 3600


def test_a_run_of_failures_disables_the_endpoint_and_emails_the_admins_once(
        hook, sandbox, settings, django_capture_on_commit_callbacks):
    settings.EVENTS_DISABLE_AFTER_FAILURES = 3
    endpoint, _secret = hook
    sandbox.control("PUT", "events/acme", expect=200, json={"failStatus": 503})
    deliveries = [announce(endpoint.org) for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [delivery.attempt(d.pk) for d in deliveries]
    assert outcomes == ["retrying", "retrying", "retrying", "skipped"]
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "3 failed attempts in a row" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@acme.example"]
    assert "turned off" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(event=Event.EVENT_ENDPOINT_DISABLED).count() == 1
    # Disabled: the sweeper leaves its waiting deliveries alone.
    EventDelivery.objects.update(next_attempt_at=timezone.now())
    assert delivery.sweep() == 0


def test_failing_for_a_day_disables_too(hook, sandbox, settings):
    endpoint, _secret = hook
    sandbox.control("PUT", "events/acme", expect=200, json={"failStatus": 500})
    EventEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=settings.EVENTS_DISABLE_AFTER_HOURS),
        consecutive_failures=1)
    delivery.attempt(announce(endpoint.org).pk)
    endpoint.refresh_from_db()
    assert not endpoint.enabled


def test_a_success_ends_the_run_of_failures(hook, sandbox):
    endpoint, _secret = hook
    sandbox.control("PUT", "events/acme", expect=200, json={"failStatus": 500, "failCount": 1})
    d = announce(endpoint.org)
    delivery.attempt(d.pk)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.failing_since is not None
    EventDelivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert delivery.attempt(d.pk) == "succeeded"
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None


def test_the_sweeper_hands_back_a_delivery_whose_worker_died(hook, settings):
    endpoint, _secret = hook
    d = announce(endpoint.org)
    EventDelivery.objects.filter(pk=d.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=timezone.now() - timedelta(seconds=1))
    DeliveryAttempt.objects.create(delivery=d, number=1)
    assert delivery.sweep() == 1
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.attempts == 1
    assert DeliveryAttempt.objects.get(delivery=d).error.startswith("no outcome recorded")
    assert delivery.attempt(d.pk) == "succeeded"
    assert list(DeliveryAttempt.objects.filter(delivery=d).values_list("number", flat=True)) \
        == [1, 2]


def test_a_previous_secret_signs_for_a_day_after_rotation(hook):
    endpoint, secret = hook
    endpoint.secrets = {"current": "whsec_new", "previous": secret,
                        "previous_until": (timezone.now() + timedelta(hours=1)).isoformat()}
    assert delivery.signing_secrets(endpoint) == ["whsec_new", secret]
    endpoint.secrets["previous_until"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    assert delivery.signing_secrets(endpoint) == ["whsec_new"]


def test_old_delivered_events_are_pruned_and_waiting_ones_kept(hook, settings):
    from forwarding.upkeep import retention
    from portal.models import OutgoingEvent

    endpoint, _secret = hook
    delivered, waiting = announce(endpoint.org), announce(endpoint.org)
    delivery.attempt(delivered.pk)
    old = timezone.now() - timedelta(days=settings.RETENTION_EVENTS_DAYS + 1)
    OutgoingEvent.objects.update(created_at=old)
    entries = [e for e in retention.RETENTION if e.setting == "RETENTION_EVENTS_DAYS"]
    retention.prune(entries=entries)
    assert list(EventDelivery.objects.values_list("pk", flat=True)) == [waiting.pk]
    assert not DeliveryAttempt.objects.exists()
    assert OutgoingEvent.objects.get().pk == waiting.event_id
