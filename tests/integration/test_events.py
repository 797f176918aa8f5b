"""Outgoing events end to end (issue 18): real Celery workers (one with beat, so the
sweeper runs) on a private Redis, PostgreSQL, and the sandbox's event receiver over HTTP.

- events reach the receiver signed the Standard Webhooks way (the sandbox checks each
  signature with the endpoint's secret);
- nothing is delivered twice for one event id, although every delivery is queued several
  times over (on commit, by hand, and by the sweeper) to two workers at once;
- a receiver answering 500 gets retries with growing waits, then the endpoint is disabled
  and its admins get one email.
"""

import time

import pytest

from portal import audit
from portal.audit import Actor, Event
from portal.events import outbox, services
from portal.models import (
    AuditEvent,
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
    Membership,
)
from tests.cast import make_org, make_user

from .harness import wait_until

pytestmark = pytest.mark.integration

BACKOFF_BASE = 0.5
DISABLE_AFTER = 4


@pytest.fixture
def events_env(worker_env, tmp_path):
    worker_env.update({
        "EVENTS_BACKOFF_BASE": str(BACKOFF_BASE),
        "EVENTS_SWEEP_SECONDS": "1",
        "EVENTS_DISABLE_AFTER_FAILURES": str(DISABLE_AFTER),
        "EVENTS_MAX_ATTEMPTS": "10",
        "EVENTS_READ_TIMEOUT": "3",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    })
    return worker_env


def org_with_endpoint(sandbox, name):
    org = make_org("webex", name=f"Events {name}")
    admin = make_user(f"admin-{name}@events.example", org=org, role=Membership.ADMIN,
                      mfa=True)
    endpoint, secret = services.endpoint_create(
        org=org, url=f"{sandbox.url}/events/{name}", actor=Actor.for_user(admin))
    sandbox.control("PUT", f"events/{name}", expect=200, json={"secret": secret})
    return org, endpoint


def received(sandbox, name):
    return sandbox.control("GET", f"events/{name}", expect=200).json()["received"]


def test_events_arrive_signed_and_once_each(sandbox, make_worker, events_env):
    org, endpoint = org_with_endpoint(sandbox, "siem")
    make_worker("w1", beat=True)
    make_worker("w2")
    for n in range(40):
        audit.record(event=Event.FORWARDING_UPDATED, actor=Actor.system("it"), org=org,
                     new={"n": n})
    # Queue every delivery twice more: workers race for them; the claim lets one send.
    for pk in EventDelivery.objects.values_list("pk", flat=True):
        outbox.enqueue(pk)
        outbox.enqueue(pk)
    wait_until(lambda: EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
               == 40, 60, interval=0.2, message="40 deliveries succeeded")
    time.sleep(2)  # two more sweeps: nothing may be sent again
    got = received(sandbox, "siem")
    ids = [g["webhookId"] for g in got]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert set(ids) == set(EventDelivery.objects.values_list("event__message_id", flat=True))
    assert all(g["signatureValid"] for g in got)
    assert sorted(g["json"]["data"]["new"]["n"] for g in got) == list(range(40))
    assert DeliveryAttempt.objects.count() == 40


def test_a_failing_receiver_is_retried_with_backoff_then_disabled_with_one_email(
        sandbox, make_worker, events_env, tmp_path):
    org, endpoint = org_with_endpoint(sandbox, "broken")
    sandbox.control("PUT", "events/broken", expect=200, json={"failStatus": 500})
    make_worker("w1", beat=True)
    audit.record(event=Event.PUSH_FAILED, actor=Actor.system("it"), org=org,
                 data={"error": "Webex refused"})
    audit.record(event=Event.DRIFT_DETECTED, actor=Actor.system("it"), org=org)

    def disabled():
        endpoint.refresh_from_db()
        return not endpoint.enabled

    wait_until(disabled, 60, interval=0.2, message="endpoint disabled")
    time.sleep(3)  # sweeps and countdowns that might still send, and the email
    got = received(sandbox, "broken")
    assert len(got) == DISABLE_AFTER
    assert all(g["status"] == 500 and g["signatureValid"] for g in got)
    # Waits grow: each gap is at least half of base * 2**(n-1) (the jitter's floor).
    for d in EventDelivery.objects.all():
        starts = [a.started_at for a in DeliveryAttempt.objects.filter(delivery=d)]
        for n, (a, b) in enumerate(zip(starts, starts[1:], strict=False), start=1):
            assert (b - a).total_seconds() >= BACKOFF_BASE * 2 ** (n - 1) / 2 - 0.05
    assert DeliveryAttempt.objects.filter(status_code=500).count() == DISABLE_AFTER
    assert not EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists()
    assert AuditEvent.objects.filter(event=Event.EVENT_ENDPOINT_DISABLED).count() == 1
    mails = list((tmp_path / "mail").iterdir())
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "admin-broken@events.example" in text and "turned off" in text

    # Fixed and enabled again: the waiting events go out, each once.
    sandbox.control("PUT", "events/broken", expect=200, json={"failStatus": None})
    services.endpoint_set_enabled(endpoint=EventEndpoint.objects.get(pk=endpoint.pk),
                                  enabled=True, actor=Actor.system("it"))
    wait_until(lambda: EventDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
               == 2, 30, interval=0.2, message="both events delivered after enabling")
    ok = [g for g in received(sandbox, "broken") if g["status"] == 200]
    assert len(ok) == 2 and len({g["webhookId"] for g in ok}) == 2
