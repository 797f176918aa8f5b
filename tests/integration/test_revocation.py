"""Revocation end to end: a partner's bulk job runs in a real Celery worker against the
sandbox when the customer revokes the delegation. The job stops, and every write the
sandbox receives from then on carries the customer's own token (the sandbox logs the
org of the token each request came with)."""

import time

import pytest
from django.utils import timezone

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from portal import services as portal_services
from portal.audit import Actor
from portal.models import AuditEvent, Delegation, Membership
from tests.cast import make_org, make_person, make_user

from .harness import wait_until

pytestmark = pytest.mark.integration

PEOPLE = 300


def _orgs(sandbox):
    sandbox.control("POST", "tokens", expect=201,
                    json={"token": "customer-token", "orgId": "customer-org", "partnerFor": []})
    sandbox.control("POST", "tokens", expect=201, json={
        "token": "partner-token", "orgId": "partner-org", "partnerFor": ["customer-org"]})
    # A slow push rate: the job saves rows much faster than they are pushed, so many
    # partner changes are still to be pushed when the delegation goes.
    customer = make_org("webex", provider_org_id="customer-org",
                        base_url=f"{sandbox.url}/webex/v1",
                        credentials={"token": "customer-token"}, rate_limit_per_second=4)
    partner = make_org("webex", provider_org_id="partner-org",
                       base_url=f"{sandbox.url}/webex/v1",
                       credentials={"token": "partner-token"})
    return customer, partner


def _people(sandbox, org):
    people = []
    for n in range(PEOPLE):
        person = make_person(org, provider_person_id=f"rv-{n}", email=f"rv{n}@customer.example")
        sandbox.control("POST", "webex/people", expect=201,
                        json={"orgId": org.provider_org_id, "personId": person.provider_person_id})
        people.append(person)
    return people


def test_revoking_stops_a_partners_running_job_and_its_partner_pushes(sandbox, worker):
    customer, partner = _orgs(sandbox)
    delegation = Delegation.objects.create(customer=customer, partner=partner)
    customer_admin = make_user(org=customer, role=Membership.ADMIN, mfa=True)
    partner_admin = make_user(org=partner, role=Membership.ADMIN, mfa=True)
    people = _people(sandbox, customer)

    plan = plan_edit(customer, [p.pk for p in people], feature="busy",
                                    action="set", destination="+12025550300")
    job = jobs.job_create(org=customer, plan=plan,
                          actor=Actor.for_user(partner_admin, via_partner=partner),
                          kind=BulkJob.EDIT, description="busy to +12025550300")
    rows = BulkJobRow.objects.filter(job=job)
    wait_until(lambda: rows.filter(status=BulkJobRow.APPLIED).count() >= 10, 30,
               interval=0.01, message="the worker applies the first rows")

    portal_services.delegation_revoke(delegation=delegation,
                                      actor=Actor.for_user(customer_admin))
    revoked_at = time.time()

    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED, "the job finished before the revocation: too fast"
    applied_then = rows.filter(status=BulkJobRow.APPLIED).count()
    assert 10 <= applied_then < PEOPLE
    assert rows.filter(status=BulkJobRow.PENDING).count() == 0

    # The worker keeps picking up the job's chunks; none of them applies anything more.
    time.sleep(2)
    assert rows.filter(status=BulkJobRow.APPLIED).count() == applied_then
    assert ForwardingSettings.objects.filter(person__org=customer, busy_enabled=True).count() \
        == applied_then

    # Every change the job saved reaches the provider, the late ones with the
    # customer's own token.
    def all_pushed():
        behind = ForwardingSettings.objects.filter(person__org=customer, busy_enabled=True)
        return all(r.sync_status == SyncStatus.SYNCED and r.synced_version == r.version
                   for r in behind)

    wait_until(all_pushed, 60, interval=0.2, message="every applied row pushed")
    puts = [r for r in sandbox.requests("/webex/v1/people/") if r["method"] == "PUT"]
    assert len(puts) >= applied_then
    # A push whose connection was built just before the commit may land a moment after.
    late = [r for r in puts if r["start"] > revoked_at + 1.0]
    assert late, "no push was left after the revocation: the test proves nothing"
    assert {r["orgId"] for r in late} == {"customer-org"}
    assert all(r["query"] == {} and r["status"] == 204 for r in late)

    stopped = AuditEvent.objects.get(event="bulk.job_stopped")
    assert stopped.data["job"] == job.pk and stopped.actor == customer_admin
    revoked = AuditEvent.objects.get(event="delegation.revoked")
    assert revoked.data["jobs_stopped"] == [job.pk]
    assert revoked.data["pushes_switched_to_own_connection"] >= 1
    assert job.finished_at <= timezone.now()
