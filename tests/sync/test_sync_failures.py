"""A failure ends only the version it was about (issue 12.1): unit tests of
forwarding.sync.delivery with the provider and the queue isolated, the database real."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from forwarding.models import PushAttempt, SyncStatus
from forwarding.rules import services
from forwarding.sync import delivery, outbox, ratelimit
from portal import audit
from portal.models import AuditEvent
from providers.base import ForwardingState, Provider, ProviderError, PushResult
from tests.cast import make_org, make_person

ACTOR = audit.Actor.system("test")


class ScriptedProvider(Provider):
    kind = "webex"

    def __init__(self, person, answers):
        self.person, self.answers, self.sent = person, list(answers), []

    def push(self, conn, person_ref, state):
        answer = self.answers.pop(0)
        if callable(answer):  # something that happens while the request is in flight
            answer = answer()
        self.sent.append(state.always_destination)
        if isinstance(answer, ProviderError):
            raise answer
        return PushResult(status_code=204)

    def fetch(self, conn, person_ref):
        return ForwardingState()


@pytest.fixture
def queue(monkeypatch):
    queued = []
    monkeypatch.setattr(outbox, "enqueue_push", lambda settings_id, **kw: queued.append(kw))
    monkeypatch.setattr(ratelimit, "reserve",
                        lambda org, rate=None, not_before=0.0: (not_before, True))
    monkeypatch.setattr(ratelimit, "paused_for", lambda org: 0.0)
    monkeypatch.setattr(ratelimit, "admit", lambda org: (0.0, True))
    monkeypatch.setattr(ratelimit, "pause", lambda org, seconds: None)
    return queued


def edit(person, destination):
    row = services.settings_for(person)
    row.refresh_from_db()
    return services.forwarding_update(
        person=person, expected_version=row.version, actor=ACTOR,
        changes={"always_enabled": True, "always_destination": destination})


def refused():
    return ProviderError("Webex refused: invalid destination.", permanent=True,
                         status_code=400)


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def run_due(clock, row_id):
    clock.shift(timedelta(seconds=2))  # past the debounce of the last edit
    return delivery.push(row_id, slot_reserved=True)


@pytest.mark.django_db(transaction=True)
def test_a_failure_of_an_old_version_sends_the_newer_one(monkeypatch, queue, clock):
    org = make_org("webex")
    person = make_person(org)
    row = edit(person, "+12025550101")
    provider = ScriptedProvider(person, [lambda: (edit(person, "+12025550102"), refused())[1],
                                         None])
    monkeypatch.setattr(delivery, "get_provider", lambda kind: provider)

    queue.clear()
    run_due(clock, row.pk)

    row.refresh_from_db()
    assert (row.version, row.synced_version) == (3, 1)
    assert row.sync_status == SyncStatus.PENDING  # not failed: version 3 was never sent
    assert row.sync_attempts == 0 and row.next_attempt_at is not None
    failed = AuditEvent.objects.get(person=person, event="push.failed")
    assert failed.data["version"] == 2 and failed.data["newer_version"] == 3
    assert queue, "the newer version is queued"

    run_due(clock, row.pk)
    row.refresh_from_db()
    assert row.sync_status == SyncStatus.SYNCED and row.synced_version == 3
    assert provider.sent == ["+12025550101", "+12025550102"]
    assert list(PushAttempt.objects.filter(settings=row).order_by("pk").values_list(
        "version", "outcome")) == [(2, "permanent"), (3, "succeeded")]


@pytest.mark.django_db(transaction=True)
def test_a_failure_of_the_latest_version_stays_failed(monkeypatch, queue, clock):
    org = make_org("webex")
    person = make_person(org)
    row = edit(person, "+12025550103")
    provider = ScriptedProvider(person, [refused()])
    monkeypatch.setattr(delivery, "get_provider", lambda kind: provider)
    queue.clear()

    run_due(clock, row.pk)

    row.refresh_from_db()
    assert row.sync_status == SyncStatus.FAILED and row.next_attempt_at is None
    assert row.last_error == "Webex refused: invalid destination."
    assert not queue
    assert delivery.sweep(now=timezone.now() + timedelta(hours=1)) == 0


def rate_limited():
    return ProviderError("Webex: too many requests.", permanent=False, status_code=429,
                         retry_after=1.0)


def unavailable():
    return ProviderError("Webex is unavailable.", permanent=False, status_code=503)


def push_whenever_due(clock, row, times):
    """Push `row` `times` times, each when it is due again (after its backoff)."""
    for _ in range(times):
        row.refresh_from_db()
        due = max(row.next_attempt_at or timezone.now(), timezone.now())
        clock.move_to(due + timedelta(seconds=2))  # also past the last edit's debounce
        delivery.push(row.pk, slot_reserved=True)
    row.refresh_from_db()


@pytest.mark.django_db(transaction=True)
def test_429s_do_not_use_up_a_changes_attempts(monkeypatch, queue, clock):
    # A provider that keeps saying "slow down" delays a change; it never fails it.
    org = make_org("webex")
    person = make_person(org)
    row = edit(person, "+12025550104")
    answers = [rate_limited() for _ in range(delivery.MAX_ATTEMPTS + 2)] + [None]
    provider = ScriptedProvider(person, answers)
    monkeypatch.setattr(delivery, "get_provider", lambda kind: provider)

    push_whenever_due(clock, row, delivery.MAX_ATTEMPTS + 2)
    assert row.sync_status == SyncStatus.RETRYING and row.sync_attempts == 0
    assert row.next_attempt_at is not None
    retrying = AuditEvent.objects.filter(event=audit.Event.PUSH_RETRYING, person=person)
    assert retrying.count() == delivery.MAX_ATTEMPTS + 2
    assert all(e.data["rate_limited"] and e.data["attempts"] == 0 for e in retrying)

    push_whenever_due(clock, row, 1)
    assert row.sync_status == SyncStatus.SYNCED and row.synced_version == row.version
    assert list(PushAttempt.objects.filter(settings=row).order_by("pk").values_list(
        "outcome", flat=True)) == ["transient"] * (delivery.MAX_ATTEMPTS + 2) + ["succeeded"]


@pytest.mark.django_db(transaction=True)
def test_other_transient_failures_still_end_as_failed_after_max_attempts(
        monkeypatch, queue, clock):
    org = make_org("webex")
    person = make_person(org)
    row = edit(person, "+12025550105")
    # A 429 in between does not count; the 503s do.
    answers = [unavailable(), rate_limited()] + [unavailable()] * (delivery.MAX_ATTEMPTS - 1)
    provider = ScriptedProvider(person, answers)
    monkeypatch.setattr(delivery, "get_provider", lambda kind: provider)

    push_whenever_due(clock, row, len(answers))
    assert row.sync_status == SyncStatus.FAILED
    assert row.sync_attempts == delivery.MAX_ATTEMPTS
    assert not provider.answers  # every answer was asked for: one push each
