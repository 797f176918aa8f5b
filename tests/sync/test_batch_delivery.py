"""How a worker pushes a bulk job's batch (forwarding.sync.batches), over real HTTP to the
sandbox: each request at its slot, the bookkeeping a fixed handful of statements for the
whole batch, and whatever goes wrong for one push (a failure, a 429, an unexpected
error, the worker dying before it settles, running out of time) handled as a single
push would, without losing or double-recording a change."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import Celery
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.models import ForwardingSettings, PushAttempt, SyncStatus
from forwarding.rules import services
from forwarding.sync import batches, delivery
from portal import audit
from portal.models import AuditEvent
from tests.cast import make_org, make_person
from tests.integration.harness import SandboxClient

ACTOR = audit.Actor.system("test")
ORG_ID = "batch-org"


@pytest.fixture
def enqueued(monkeypatch):
    sent = []

    def send_task(app, name, args=None, kwargs=None, queue=None, countdown=None, **options):
        sent.append((name.removeprefix("forwarding."), args, kwargs, countdown))

    monkeypatch.setattr(Celery, "send_task", send_task)
    return sent


@pytest.fixture
def webex(sandbox_url, transactional_db, enqueued):
    sandbox = SandboxClient(sandbox_url)
    sandbox.reset()
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": "batch", "orgId": ORG_ID, "partnerFor": []})
    org = make_org("webex", provider_org_id=ORG_ID, base_url=f"{sandbox_url}/webex/v1",
                   credentials={"token": "batch"}, rate_limit_per_second=1000)
    return sandbox, org


def edited(sandbox, org, count, start=0):
    """`count` people whose always-forward was just saved (version 2), due now."""
    rows = []
    for n in range(start, start + count):
        person = make_person(org, number=f"+1202555{8000 + n}",
                             provider_person_id=f"batch-{n}")
        sandbox.control("POST", "webex/people", expect=201,
                        json={"orgId": ORG_ID, "personId": person.provider_person_id})
        row = services.settings_for(person)
        services.forwarding_update(person=person, expected_version=row.version, actor=ACTOR,
                                   changes={"always_enabled": True,
                                            "always_destination": f"+1303555{1000 + n}"})
        rows.append(row)
    ForwardingSettings.objects.filter(pk__in=[r.pk for r in rows]).update(
        next_attempt_at=timezone.now())
    return rows


def items_for(rows, gap=0.02, lead=0.05):
    start = time.time() + lead
    return [[row.pk, start + n * gap] for n, row in enumerate(rows)]


def sends(patch, before=None):
    """When each push's request went out: (settings id, epoch seconds)."""
    seen = []
    real = delivery.send

    def spy(plan, token, attempt, queue):
        seen.append((plan.row.pk, time.time()))
        if before is not None:
            before(plan)
        return real(plan, token, attempt, queue)

    patch.setattr(delivery, "send", spy)
    return seen


def state(rows):
    return {r.pk: r for r in ForwardingSettings.objects.filter(pk__in=[r.pk for r in rows])}


def successes(rows):
    return Counter((e.person_id, e.data["version"]) for e in AuditEvent.objects.filter(
        event="push.succeeded", person__in=[r.person_id for r in rows]))


def at_provider(sandbox, row):
    return sandbox.webex_state(row.person.provider_person_id, "batch")["callForwarding"][
        "always"]


def test_each_push_goes_at_its_slot_and_the_batch_costs_a_fixed_handful_of_statements(
        webex, monkeypatch):
    sandbox, org = webex
    small, large = edited(sandbox, org, 3), edited(sandbox, org, 10, start=3)
    counts = {}
    for name, rows in (("small", small), ("large", large)):
        items = items_for(rows)
        with monkeypatch.context() as patch, CaptureQueriesContext(connection) as queries:
            seen = sends(patch)
            batches.push_batch(items, slot_reserved=True, queue="bulk")
        counts[name] = len(queries.captured_queries)
        assert [settings_id for settings_id, _at in seen] == [r.pk for r in rows]
        for (_id, at), (_sid, slot) in zip(seen, items, strict=True):
            assert at >= slot - 0.002  # never before its slot
    # Ten pushes cost the statements of three: the bookkeeping is per batch.
    assert counts["small"] == counts["large"], counts
    assert counts["large"] <= 10, counts  # ten single pushes: 70
    rows = small + large
    current = state(rows)
    assert all(r.sync_status == SyncStatus.SYNCED and r.synced_version == 2 and
               not r.claim_token and r.claimed_until is None for r in current.values())
    assert successes(rows) == {(r.person_id, 2): 1 for r in rows}
    attempts = PushAttempt.objects.filter(settings__in=rows)
    assert attempts.count() == len(rows)
    assert {a.outcome for a in attempts} == {PushAttempt.SUCCEEDED}
    assert all(a.finished_at >= a.started_at for a in attempts)
    for n, row in enumerate(rows):
        assert at_provider(sandbox, row) == {
            **at_provider(sandbox, row), "enabled": True,
            "destination": f"+1303555{1000 + n}"}


def test_one_failure_is_retried_alone_and_the_others_are_synced(webex, monkeypatch,
                                                                  enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 5)
    enqueued.clear()  # the saves' own pushes
    broken = rows[2]
    sandbox.control("POST", "faults", expect=201, json={
        "status": 503, "count": 1, "match": {"personId": broken.person.provider_person_id}})
    batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    current = state(rows)
    assert current[broken.pk].sync_status == SyncStatus.RETRYING
    assert not current[broken.pk].claim_token
    assert PushAttempt.objects.get(settings=broken).outcome == PushAttempt.TRANSIENT
    assert AuditEvent.objects.filter(event="push.retrying", person=broken.person).exists()
    assert ("push_settings", [broken.pk]) in [(t, a) for t, a, _k, _c in enqueued]
    others = [r for r in rows if r is not broken]
    assert all(current[r.pk].sync_status == SyncStatus.SYNCED for r in others)
    assert successes(others) == {(r.person_id, 2): 1 for r in others}


def test_a_429_holds_back_the_rest_of_the_batch_without_sending_it(webex, monkeypatch,
                                                                    enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 6)
    enqueued.clear()  # the saves' own pushes
    limited = rows[2]
    sandbox.control("POST", "faults", expect=201, json={
        "status": 429, "retryAfter": 2, "count": 1,
        "match": {"personId": limited.person.provider_person_id}})
    seen = sends(monkeypatch)
    before = timezone.now()
    batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    assert [settings_id for settings_id, _at in seen] == [r.pk for r in rows[:3]]
    current = state(rows)
    assert [current[r.pk].sync_status for r in rows[:2]] == [SyncStatus.SYNCED] * 2
    assert current[limited.pk].sync_status == SyncStatus.RETRYING
    rest = rows[3:]
    for row in rest:  # handed back, due after the org's pause, their unsent attempts gone
        assert current[row.pk].sync_status == SyncStatus.PENDING
        assert not current[row.pk].claim_token
        assert current[row.pk].next_attempt_at >= before + timedelta(seconds=1.5)
    assert not PushAttempt.objects.filter(settings__in=rest).exists()
    requeued = {a[0]: c for t, a, _k, c in enqueued if t == "push_settings"}
    assert set(requeued) == {r.pk for r in [limited, *rest]}
    assert all(requeued[r.pk] >= 1.5 for r in rest)
    sent_to = {r["personId"] for r in sandbox.requests("/webex/") if r.get("personId")}
    assert not sent_to & {r.person.provider_person_id for r in rest}


def test_an_unexpected_error_leaves_that_row_to_the_sweeper(webex, monkeypatch, enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 4)
    enqueued.clear()  # the saves' own pushes
    odd = rows[1]

    def explode(plan):
        if plan.row.pk == odd.pk:
            raise RuntimeError("a bug")

    with monkeypatch.context() as patch:
        sends(patch, before=explode)
        batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    current = state(rows)
    assert current[odd.pk].claim_token  # still claimed: nobody else pushes it meanwhile
    assert all(current[r.pk].sync_status == SyncStatus.SYNCED for r in rows if r is not odd)
    # Once the claim expires the sweeper sends it again, and it is delivered once.
    ForwardingSettings.objects.filter(pk=odd.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1))
    enqueued.clear()
    delivery.sweep(now=timezone.now() + timedelta(seconds=delivery.SWEEP_GRACE + 1))
    assert ("push_settings", [odd.pk]) in [(t, a) for t, a, _k, _c in enqueued]
    delivery.push(odd.pk, slot_reserved=True, queue="bulk")
    assert state([odd])[odd.pk].sync_status == SyncStatus.SYNCED
    assert successes(rows) == {(r.person_id, 2): 1 for r in rows}


def test_a_worker_that_dies_before_settling_loses_nothing(webex, monkeypatch, enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 4)
    enqueued.clear()  # the saves' own pushes

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")  # as if the process died after the requests

    with monkeypatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(batches, "_settle", killed)
        batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    assert len(sandbox.requests("/webex/")) >= 4  # the provider took them
    assert not successes(rows)  # but nothing says so yet
    assert all(r.claim_token for r in state(rows).values())
    ForwardingSettings.objects.filter(pk__in=[r.pk for r in rows]).update(
        claimed_until=timezone.now() - timedelta(seconds=1))
    delivery.sweep(now=timezone.now() + timedelta(seconds=delivery.SWEEP_GRACE + 1))
    swept = [a[0] for t, a, _k, _c in enqueued if t == "push_settings"]
    assert sorted(swept) == sorted(r.pk for r in rows)
    for settings_id in swept:
        delivery.push(settings_id, slot_reserved=True, queue="bulk")
    assert all(r.sync_status == SyncStatus.SYNCED for r in state(rows).values())
    assert successes(rows) == {(r.person_id, 2): 1 for r in rows}


def test_out_of_time_the_rest_goes_to_a_new_message_that_can_claim_it(webex, enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 3)
    enqueued.clear()  # the saves' own pushes
    items = items_for(rows)
    batches.push_batch(items, slot_reserved=True, queue="bulk", budget=-1)
    assert not sandbox.requests("/webex/")
    assert not PushAttempt.objects.filter(settings__in=rows).exists()
    assert not any(r.claim_token for r in state(rows).values())
    handed = [(a[0], k) for t, a, k, _c in enqueued if t == "push_batch"]
    assert handed == [([list(item) for item in items],
                       {"slot_reserved": True, "queue": "bulk"})]
    batches.push_batch(handed[0][0], slot_reserved=True, queue="bulk")
    assert all(r.sync_status == SyncStatus.SYNCED for r in state(rows).values())


def test_an_edit_during_the_batch_gets_its_own_push(webex, monkeypatch, enqueued):
    sandbox, org = webex
    rows = edited(sandbox, org, 3)
    enqueued.clear()  # the saves' own pushes
    target = rows[1]

    def edit_meanwhile(plan):
        if plan.row.pk == target.pk:
            row = ForwardingSettings.objects.get(pk=target.pk)
            services.forwarding_update(person=target.person, expected_version=row.version,
                                       actor=ACTOR, changes={"busy_enabled": True,
                                                             "busy_destination": "+13035559999"})

    sends(monkeypatch, before=edit_meanwhile)
    batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    row = state(rows)[target.pk]
    assert (row.version, row.synced_version) == (3, 2)
    assert row.sync_status == SyncStatus.PENDING and not row.claim_token
    assert target.pk in [a[0] for t, a, _k, _c in enqueued if t == "push_settings"]
    assert successes(rows) == {(r.person_id, 2): 1 for r in rows}


def test_the_soft_time_limit_stops_the_batch_and_what_was_sent_is_recorded(webex,
                                                                            monkeypatch):
    """Celery's soft time limit is an Exception: the batch must stop on it, not treat it
    as one push's unexpected error and go on towards the hard kill."""
    from celery.exceptions import SoftTimeLimitExceeded

    sandbox, org = webex
    rows = edited(sandbox, org, 4)

    def out_of_time(plan):
        if plan.row.pk == rows[2].pk:
            raise SoftTimeLimitExceeded()

    with monkeypatch.context() as patch, pytest.raises(SoftTimeLimitExceeded):
        seen = sends(patch, before=out_of_time)
        batches.push_batch(items_for(rows), slot_reserved=True, queue="bulk")
    assert [settings_id for settings_id, _at in seen] == [r.pk for r in rows[:3]]
    assert successes(rows[:2]) == {(r.person_id, 2): 1 for r in rows[:2]}
    current = state(rows)
    assert all(current[r.pk].sync_status == SyncStatus.SYNCED for r in rows[:2])
    assert all(current[r.pk].claim_token for r in rows[2:])  # left to the sweeper
