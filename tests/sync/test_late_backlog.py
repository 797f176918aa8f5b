"""Pushes that run late (workers busy saving, a loaded machine) hold their reserved
slots, but a backlog of them must not go out all at once: it would empty the provider's
bucket and come back as a run of 429s, each pausing the org for a whole Retry-After
(issue 17). ratelimit.admit lets a backlog catch up PUSH_BURST_SECONDS' worth at a time.
The provider is isolated (it counts what is sent); the database and Redis are real."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.sync import delivery, outbox, ratelimit
from providers.base import ForwardingState, Provider, PushResult
from tests.cast import make_org, make_person


class CountingProvider(Provider):
    kind = "webex"

    def __init__(self):
        self.sent = []

    def push(self, conn, person_ref, state):
        self.sent.append(person_ref)
        return PushResult(status_code=204)

    def fetch(self, conn, person_ref):
        return ForwardingState()


@pytest.fixture
def org(settings):
    # One push a second, so the test's own pace (well under a second for all of them,
    # even on a loaded machine) does not refill the bucket as it goes.
    settings.PUSH_BURST_SECONDS = 2.0
    org = make_org("webex", rate_limit_per_second=1)
    client = ratelimit._redis()[0]
    client.delete(*ratelimit._keys(org.id), ratelimit._sent_key(org.id))
    return org


@pytest.mark.django_db(transaction=True)
def test_a_late_backlog_catches_up_a_burst_at_a_time(monkeypatch, org):
    provider = CountingProvider()
    monkeypatch.setattr(delivery, "get_provider", lambda kind: provider)
    queued = []
    monkeypatch.setattr(outbox, "enqueue_push",
                        lambda settings_id, **kw: queued.append((settings_id, kw)))
    people = [make_person(org) for _ in range(6)]
    ids = []
    for n, person in enumerate(people):
        row = ForwardingSettings.objects.create(
            person=person, version=2, synced_version=1, always_enabled=True,
            always_destination=f"+1303555{n:04d}", sync_status=SyncStatus.PENDING,
            # Their slots were 5 s ago: the workers were busy.
            next_attempt_at=timezone.now() - timedelta(seconds=5))
        ids.append(row.pk)

    for settings_id in ids:
        delivery.push(settings_id, slot_reserved=True)

    # 2 s at 1/s: two sends ahead of the rate, plus the one due now; the others come
    # back a slot apart, keeping their slots, their turns counted already.
    assert len(provider.sent) == 3
    held = [kw for _id, kw in queued]
    assert len(held) == 3 and all(kw["slot_reserved"] and kw["admitted"] for kw in held)
    countdowns = [kw["countdown"] for kw in held]
    assert 0 < countdowns[0] <= 1.0
    assert [round(b - a, 1) for a, b in zip(countdowns, countdowns[1:], strict=False)] \
        == [1.0, 1.0]

    rows = ForwardingSettings.objects.filter(pk__in=[i for i, _kw in queued])
    assert {r.sync_status for r in rows} == {SyncStatus.PENDING}
    assert all(r.next_attempt_at > timezone.now() for r in rows)

    # Each sends when it comes back at its turn, without asking again.
    with time_machine.travel(timezone.now() + timedelta(seconds=countdowns[-1] + 0.5)):
        for settings_id, kw in list(queued):
            delivery.push(settings_id, slot_reserved=True, admitted=kw["admitted"])
    assert len(provider.sent) == 6


@pytest.mark.django_db(transaction=True)
def test_pushes_on_time_are_admitted_one_slot_apart(org):
    waits = []
    for _ in range(3):
        waits.append(ratelimit.admit(org))
    assert waits == [(0.0, True)] * 3
    ratelimit.pause(org, 2)
    wait, keeps = ratelimit.admit(org)
    assert not keeps and 1.5 < wait <= 2.0  # paused by a 429: a new slot after it
