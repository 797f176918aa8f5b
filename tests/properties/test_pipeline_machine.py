"""The push pipeline as a state machine (hypothesis): edits, deliveries, duplicated and
dropped messages, 429s and 503s, workers dying mid-push and time passing, in any order,
always end with the provider holding the last edit and no change lost.

One seam is isolated: the provider is an in-memory fake (the real adapters are proven
against the sandbox in tests/integration), and the shared rate limiter answers "go" (it
runs on Redis's clock, which time travel cannot move; it has its own tests)."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules import services
from forwarding.sync import delivery, outbox, ratelimit
from portal import audit
from providers.base import ForwardingState, Provider, ProviderError, PushResult
from tests.cast import make_org, make_person

_ids = itertools.count(1)


class FakeProvider(Provider):
    kind = "webex"

    def __init__(self):
        self.state = ForwardingState()
        self.failures = []  # what the next calls answer: None (ok) or a ProviderError
        self.during_push = []  # things that happen while the next call is in flight
        self.writes = 0

    def push(self, conn, person_ref, state):
        if self.during_push:
            self.during_push.pop(0)()
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        self.state = state
        self.writes += 1
        return PushResult(status_code=204)

    def fetch(self, conn, person_ref):
        return self.state


class PipelineMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = time_machine.travel(timezone.now(), tick=False)
        self.traveller = self.clock.start()
        n = next(_ids)
        self.org = make_org("webex", name=f"Machine org {n}")
        self.person = make_person(self.org, number=f"+1202555{n % 10000:04d}")
        self.row = services.settings_for(self.person)
        self.provider = FakeProvider()
        self.queue = []
        self.last = None
        self.actor = audit.Actor.system("machine")
        QUEUE.clear()

    def _row(self):
        return ForwardingSettings.objects.get(pk=self.row.pk)

    def _take_enqueued(self):
        self.queue.extend(QUEUE)
        QUEUE.clear()

    @initialize(n=st.integers(0, 9999))
    def a_first_edit_is_due(self, n):
        # Every run starts with a change waiting to be pushed, so the short interleavings
        # (a push in flight, a newer edit, a failure) are reachable in a few steps.
        self.edit(n)
        self.traveller.shift(timedelta(seconds=1))

    @rule(n=st.integers(0, 9999))
    def edit(self, n):
        destination = f"+1303555{n:04d}"
        row = self._row()
        with transaction.atomic():
            services.forwarding_update(
                person=self.person, expected_version=row.version, actor=self.actor,
                changes={"always_enabled": True, "always_destination": destination})
        if self._row().version != row.version:
            self.last = destination
        self._take_enqueued()

    @rule(n=st.integers(0, 9999))
    def edit_while_a_push_is_in_flight(self, n):
        self.provider.during_push.append(lambda: self.edit(n))

    @rule()
    def deliver(self):
        # A message that arrives early comes back re-enqueued: deliver at most one.
        if self.queue:
            slot = self.queue.pop(0)
            delivery.push(self.row.pk, slot_reserved=slot)
            self._take_enqueued()

    @rule()
    def duplicate(self):
        if self.queue:
            self.queue.append(self.queue[0])

    @rule()
    def drop(self):
        if self.queue:
            self.queue.pop(0)

    @rule(retry_after=st.sampled_from([None, 1, 3, 30]))
    def provider_says_429(self, retry_after):
        self.provider.failures.append(ProviderError(
            "Webex asked the portal to slow down.", permanent=False, status_code=429,
            retry_after=retry_after))

    @rule()
    def provider_says_503(self):
        self.provider.failures.append(ProviderError(
            "Webex had a problem (503).", permanent=False, status_code=503))

    @rule()
    def provider_refuses_permanently(self):
        # Combined with edit_while_a_push_is_in_flight: an old version fails for good while
        # a newer one waits (issue 12.1).
        self.provider.failures.append(ProviderError(
            "Webex refused: invalid destination.", permanent=True, status_code=400))

    @rule(n=st.integers(0, 9999))
    def edit_while_a_refused_push_is_in_flight(self, n):
        # The interleaving of issue 12.1 as one step, so every run explores it: the next
        # push is refused for good after a newer edit was saved during it.
        self.provider.during_push.append(lambda: self.edit(n))
        self.provider.failures.append(ProviderError(
            "Webex refused: invalid destination.", permanent=True, status_code=400))

    @rule()
    def worker_dies_mid_push(self):
        # A worker claims the row and is SIGKILLed before it records anything.
        delivery._claim(self.row.pk, timezone.now())

    @rule(seconds=st.sampled_from([0.3, 1, 5, 20, 120]))
    def time_passes(self, seconds):
        self.traveller.shift(timedelta(seconds=seconds))

    @rule()
    def sweeper_runs(self):
        delivery.sweep()
        self._take_enqueued()

    @invariant()
    def a_failure_ends_only_its_own_version(self):
        row = self._row()
        if row.sync_status == SyncStatus.FAILED:
            last = PushAttempt.objects.filter(settings_id=row.pk).order_by("-pk").first()
            assert last is not None and last.version == row.version, (
                "failed although a newer version waits", last and last.version, row.version)

    @invariant()
    def never_ahead(self):
        row = self._row()
        assert row.synced_version <= row.version
        if row.sync_status == SyncStatus.SYNCED:
            assert row.synced_version == row.version

    def teardown(self):
        try:
            # Let everything settle: time passes, the sweeper and workers do their job.
            for _ in range(60):
                row = self._row()
                if row.synced_version == row.version and (
                        row.sync_status == SyncStatus.SYNCED or self.last is None):
                    break  # (a row never edited has nothing to deliver)
                if row.sync_status == SyncStatus.FAILED:
                    # The last edit itself was refused: an admin's "retry now".
                    delivery.retry_now(settings=row, actor=self.actor)
                    self._take_enqueued()
                self.traveller.shift(timedelta(seconds=max(delivery.CLAIM_SECONDS,
                                                           delivery.BACKOFF_CAP) + 1))
                delivery.sweep()
                self._take_enqueued()
                # Deliver what is queued now (a message that comes back for later waits
                # for the next round, after time has passed).
                for slot in self.queue[:]:
                    self.queue.pop(0)
                    delivery.push(self.row.pk, slot_reserved=slot)
                    self._take_enqueued()
            row = self._row()
            assert row.synced_version == row.version
            if self.last is not None:
                assert row.sync_status == SyncStatus.SYNCED, (row.sync_status, row.last_error)
                assert self.provider.state.always_destination == self.last
                assert self.provider.state.always_enabled is True
        finally:
            self.clock.stop()


QUEUE = []


@pytest.mark.django_db
def test_pipeline_always_converges_to_the_last_edit(monkeypatch):
    def enqueue(settings_id, *, queue="interactive", countdown=None, slot_reserved=False):
        QUEUE.append(slot_reserved)

    monkeypatch.setattr(outbox, "enqueue_push", enqueue)
    monkeypatch.setattr(transaction, "on_commit", lambda func, *a, **k: func())
    monkeypatch.setattr(ratelimit, "reserve",
                        lambda org, rate=None, not_before=0.0: (not_before, True))
    monkeypatch.setattr(ratelimit, "paused_for", lambda org: 0.0)
    monkeypatch.setattr(ratelimit, "admit", lambda org: (0.0, True))
    monkeypatch.setattr(ratelimit, "pause", lambda org, seconds: None)
    machines = []

    def factory():
        machine = PipelineMachine()
        monkeypatch.setattr(delivery, "get_provider", lambda kind: machine.provider)
        machines.append(machine)
        return machine

    run_state_machine_as_test(factory, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
    assert machines
