"""Fault injection (issue 8 part 4): whatever breaks, every person converges to their
last edit, no change is lost, and the audit trail has exactly one success row per version
that reached the provider."""

import time
from collections import Counter

import pytest
from django.db import transaction

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import services
from portal import audit
from portal.models import AuditEvent, Person
from tests.cast import make_org

from .harness import wait_until

pytestmark = pytest.mark.integration

TOKEN = "faults-token"
ORG_ID = "faults-org"


def setup_org(sandbox, people, *, rate=200):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": TOKEN, "orgId": ORG_ID, "partnerFor": []})
    org = make_org("webex", provider_org_id=ORG_ID, base_url=f"{sandbox.url}/webex/v1",
                   credentials={"token": TOKEN}, rate_limit_per_second=rate)
    created = Person.objects.bulk_create([
        Person(org=org, display_name=f"Fault {n}", phone_number=f"+1202{400 + n // 10000}"
               f"{n % 10000:04d}", provider_person_id=f"fault-{n}") for n in range(people)
    ])
    for person in created:
        sandbox.control("POST", "webex/people", expect=201,
                        json={"orgId": ORG_ID, "personId": person.provider_person_id})
    return org, created


def destination(n, round_=0):
    return f"+1303{500 + round_}{n % 10000:04d}"


def save_all(people, round_=0):
    actor = audit.Actor.system("fault test")
    for n, person in enumerate(people):
        row = services.settings_for(person)
        row.refresh_from_db()
        with transaction.atomic():
            services.forwarding_update(
                person=person, expected_version=row.version, actor=actor,
                changes={"always_enabled": True, "always_destination": destination(n, round_)})


def assert_converged(sandbox, people, round_=0):
    """Every person synced at their latest version, the sandbox holding the last edit,
    and one success audit row per (person, version) pushed."""
    rows = {r.person_id: r for r in ForwardingSettings.objects.filter(person__in=people)}
    assert all(r.synced_version == r.version for r in rows.values())
    assert {r.sync_status for r in rows.values()} == {SyncStatus.SYNCED}
    at_provider = {p["personId"]: p["settings"] for p in
                   sandbox.control("GET", "webex/people", expect=200).json()}
    for n, person in enumerate(people):
        always = at_provider[person.provider_person_id]["callForwarding"]["always"]
        assert (always["enabled"], always["destination"]) == (True, destination(n, round_))
    successes = Counter(
        (e.person_id, e.data["version"])
        for e in AuditEvent.objects.filter(event="push.succeeded", person__in=people)
    )
    assert successes, "no success rows"
    assert max(successes.values()) == 1, [k for k, v in successes.items() if v > 1][:5]
    for person in people:  # the last version is among them
        assert successes[(person.id, rows[person.id].version)] == 1


def wait_converged(people, timeout, supervised=()):
    ids = [p.id for p in people]

    def done():
        from django.db.models import F

        for worker in supervised:
            worker.supervise()
        return not ForwardingSettings.objects.filter(person_id__in=ids).exclude(
            sync_status=SyncStatus.SYNCED, synced_version=F("version")).exists()

    wait_until(done, timeout, interval=0.25, message="every person converged")


def test_sigkill_worker_during_500_person_push(sandbox, make_worker):
    org, people = setup_org(sandbox, 500, rate=100)
    worker = make_worker("w1", concurrency=3, beat=True)
    save_all(people)
    wait_until(lambda: ForwardingSettings.objects.filter(
        person__org=org, sync_status=SyncStatus.SYNCED, synced_version=2).count() >= 100,
        60, message="a fifth pushed")
    worker.kill()
    make_worker("w2", concurrency=3, beat=True)
    wait_converged(people, 120)
    assert_converged(sandbox, people)


def test_redis_restart_during_pushes(sandbox, broker, make_worker):
    org, people = setup_org(sandbox, 100, rate=25)  # four seconds of pushing
    worker = make_worker("w1", concurrency=2, beat=True)
    save_all(people)
    wait_until(lambda: ForwardingSettings.objects.filter(
        person__org=org, synced_version=2).count() >= 20, 30, message="some pushed")
    broker.stop()  # queued messages and rate-limit state are gone with it
    time.sleep(1.0)
    broker.start()
    # Workers run under a supervisor in production (README): kombu 5.7 makes a worker
    # exit when its broker connection drops while it holds unacknowledged messages.
    wait_converged(people, 90, supervised=[worker])
    assert_converged(sandbox, people)


def test_redis_down_while_people_save(sandbox, broker, make_worker):
    org, people = setup_org(sandbox, 40)
    make_worker("w1", concurrency=2, beat=True)
    broker.stop()
    started = time.monotonic()
    save_all(people)
    per_save = (time.monotonic() - started) / len(people)
    assert per_save < 2.0, f"saving took {per_save:.2f} s each with Redis down"
    assert ForwardingSettings.objects.filter(person__org=org, version=2).count() == 40
    broker.start()
    wait_converged(people, 90)
    assert_converged(sandbox, people)


def test_sandbox_503_storm(sandbox, make_worker):
    org, people = setup_org(sandbox, 50)
    sandbox.control("POST", "faults", expect=201, json={
        "match": {"orgId": ORG_ID}, "status": 503, "retryAfter": 1, "count": 120})
    make_worker("w1", concurrency=3, beat=True)
    save_all(people)
    wait_converged(people, 120)
    assert_converged(sandbox, people)
    assert sandbox.control("GET", "faults", expect=200).json() == []  # the storm was spent
    assert AuditEvent.objects.filter(event="push.retrying", person__org=org).count() >= 100
