"""Fault injection (issue 8 part 4): whatever breaks, every person converges to their
last edit, no change is lost, and the audit trail has exactly one success row per version
that reached the provider."""

import time
from collections import Counter

import pytest

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from portal import audit
from portal.models import AuditEvent, Membership, Person
from tests.cast import make_org, make_user

from .convergence import assert_converged, save_all, wait_converged
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


def bulk_edit(org, people):
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    plan = plan_edit(org, [p.id for p in people], feature="always", action="set",
                     destination="+13035550100")
    return jobs.job_create(org=org, plan=plan, actor=audit.Actor.for_user(admin),
                           kind=BulkJob.EDIT, description="always forward")


def assert_bulk_converged(sandbox, job, people):
    """The job done, every person at the provider as it asked, one success row each."""
    job.refresh_from_db()
    assert job.status == BulkJob.DONE
    assert not BulkJobRow.objects.filter(job=job).exclude(status=BulkJobRow.APPLIED).exists()
    at_provider = {p["personId"]: p["settings"] for p in
                   sandbox.control("GET", "webex/people", expect=200).json()}
    for person in people:
        always = at_provider[person.provider_person_id]["callForwarding"]["always"]
        assert (always["enabled"], always["destination"]) == (True, "+13035550100")
    successes = Counter((e.person_id, e.data["version"]) for e in AuditEvent.objects.filter(
        event="push.succeeded", person__in=people))
    assert successes == {(p.id, 2): 1 for p in people}


def test_sigkill_worker_during_a_bulk_jobs_batches(sandbox, make_worker):
    """A bulk job's pushes go as batches (forwarding.sync.batches): a worker killed with
    batches claimed, sent or half settled loses nothing and records nothing twice."""
    org, people = setup_org(sandbox, 300, rate=50)  # six seconds of pushing
    worker = make_worker("w1", concurrency=3, beat=True)
    job = bulk_edit(org, people)
    wait_until(lambda: BulkJob.objects.get(pk=job.pk).status == BulkJob.DONE
               and ForwardingSettings.objects.filter(
                   person__org=org, sync_status=SyncStatus.SYNCED,
                   synced_version=2).count() >= 30, 60, message="job saved, pushes going")
    worker.kill()
    make_worker("w2", concurrency=3, beat=True)
    wait_converged(people, 120)
    assert_bulk_converged(sandbox, job, people)


def test_sigkill_worker_while_a_bulk_job_is_being_saved(sandbox, make_worker):
    """The job's apply task dies with its worker; Redis would give its message back only
    after an hour: the stalled-job check (jobs.resume_stalled) enqueues the rest."""
    org, people = setup_org(sandbox, 800, rate=500)
    worker = make_worker("w1", concurrency=2, beat=True)
    job = bulk_edit(org, people)
    wait_until(lambda: BulkJobRow.objects.filter(job=job, status=BulkJobRow.APPLIED).exists(),
               60, interval=0.02, message="a first chunk saved")
    worker.kill()
    assert BulkJobRow.objects.filter(job=job, status=BulkJobRow.PENDING).exists(), \
        "the job was saved before the kill: nothing left to recover"
    make_worker("w2", concurrency=2, beat=True)
    wait_until(lambda: BulkJob.objects.get(pk=job.pk).status == BulkJob.DONE, 150,
               interval=0.5, message="the job resumed and done")
    wait_converged(people, 120)
    assert_bulk_converged(sandbox, job, people)


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
