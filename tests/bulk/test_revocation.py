"""Revoked access keeps nothing working: after a customer revokes a partner's delegation
(or an admin is removed), pushes, retries, sweeps, window ticks and drift checks of what
the partner changed go through the customer's own connection, and the withdrawn actor's
running bulk jobs stop (undo still possible). Every connection handed to the provider is
recorded, so each test asserts the very token a provider call received."""

from datetime import timedelta

import pytest
from celery import Celery
from django.db import transaction
from django.utils import timezone

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from forwarding.rules import services
from forwarding.sync import delivery, drift, outbox, ratelimit, readback
from portal import services as portal_services
from portal.audit import Actor
from portal.models import AuditEvent, Delegation, Membership
from providers.base import ForwardingState, PushResult
from tests.cast import make_person, make_user, update

pytestmark = pytest.mark.django_db


class RecordingProvider:
    """Stands in for the adapter: remembers every Connection it was handed."""

    def __init__(self):
        self.connections = []

    def push(self, conn, person_ref, state):
        self.connections.append(("push", conn))
        return PushResult(status_code=204, tracking_id="rec")

    def fetch(self, conn, person_ref):
        self.connections.append(("fetch", conn))
        return ForwardingState()

    def tokens(self):
        return [conn.token for _kind, conn in self.connections]


@pytest.fixture
def provider(monkeypatch):
    recording = RecordingProvider()
    monkeypatch.setattr(delivery, "get_provider", lambda kind: recording)
    monkeypatch.setattr(readback, "get_provider", lambda kind: recording)  # drift checks
    # No broker and no Redis in these tests: what would be enqueued is collected, and
    # every push runs at once.
    monkeypatch.setattr(outbox, "enqueue_push", lambda settings_id, **kw: None)
    monkeypatch.setattr(ratelimit, "reserve",
                        lambda org, rate=None, not_before=0.0: (0.0, False))
    monkeypatch.setattr(ratelimit, "paused_for", lambda org: 0.0)
    return recording


@pytest.fixture
def customer_admin(org):
    return make_user(org=org, role=Membership.ADMIN, mfa=True)


@pytest.fixture
def partner_actor(partner_admin, partner_org):
    return Actor.for_user(partner_admin, via_partner=partner_org)


def customer_token(org):
    return org.credentials["token"]


def revoke(delegation, admin):
    return portal_services.delegation_revoke(delegation=delegation,
                                             actor=Actor.for_user(admin))


def due_now(person):
    """Make the row's next attempt due (the debounce would otherwise hold the push)."""
    ForwardingSettings.objects.filter(person=person).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- pushes, retries, sweeps, windows, drift ------------------------------------------------


def test_a_partner_change_is_pushed_with_the_partner_token_while_delegated(
        org, partner_org, delegation, partner_actor, provider):
    person = make_person(org)
    row = update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    due_now(person)
    delivery.push(row.pk)
    ((_kind, conn),) = provider.connections
    assert conn.token == partner_org.credentials["token"]
    assert conn.acting_org_id == org.provider_org_id


def test_after_revocation_the_retry_of_a_partner_change_uses_the_customer_token(
        org, partner_org, delegation, partner_actor, customer_admin, provider):
    person = make_person(org)
    row = update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    # The partner's push failed and waits for its retry when the customer revokes.
    ForwardingSettings.objects.filter(pk=row.pk).update(
        sync_status=SyncStatus.RETRYING, sync_attempts=1, last_error="503")
    revoke(delegation, customer_admin)
    due_now(person)
    delivery.push(row.pk)
    ((_kind, conn),) = provider.connections
    assert conn.token == customer_token(org)
    assert conn.acting_org_id == ""
    row.refresh_from_db()
    assert row.push_via_partner_id is None and row.sync_status == SyncStatus.SYNCED


def test_a_delegation_revoked_around_the_service_stops_the_partner_token_too(
        org, partner_org, delegation, partner_actor, provider, monkeypatch):
    # Revoked without the service (Django admin, a data fix): the row still remembers
    # the partner, and the connection is decided when it is built, not by the row.
    person = make_person(org)
    row = update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    Delegation.objects.filter(pk=delegation.pk).update(revoked_at=timezone.now())
    assert ForwardingSettings.objects.get(pk=row.pk).push_via_partner_id == partner_org.pk
    queued = []
    monkeypatch.setattr(outbox, "enqueue_push",
                        lambda settings_id, **kw: queued.append(settings_id))
    ForwardingSettings.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert delivery.sweep() == 1 and queued == [row.pk]
    delivery.push(row.pk)
    assert provider.tokens() == [customer_token(org)]


def test_after_revocation_a_window_tick_pushes_with_the_customer_token(
        org, partner_org, delegation, partner_actor, customer_admin, provider):
    person = make_person(org)
    start = timezone.now() + timedelta(minutes=1)
    row = update(person, actor=partner_actor, window_enabled=True, window_start=start,
                 window_end=start + timedelta(hours=2), window_destination="2002")
    ForwardingSettings.objects.filter(pk=row.pk).update(
        synced_version=row.version, sync_status=SyncStatus.SYNCED, next_attempt_at=None)
    revoke(delegation, customer_admin)
    assert services.windows_tick(now=start + timedelta(minutes=1)) == 1
    due_now(person)
    delivery.push(row.pk)
    assert provider.tokens() == [customer_token(org)]


def test_after_revocation_a_drift_check_reads_with_the_customer_token(
        org, partner_org, delegation, partner_actor, customer_admin, provider):
    person = make_person(org)
    row = update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    ForwardingSettings.objects.filter(pk=row.pk).update(
        synced_version=row.version, sync_status=SyncStatus.SYNCED, next_attempt_at=None)
    revoke(delegation, customer_admin)
    drift.check(row.pk)
    assert provider.connections[0][0] == "fetch"
    assert provider.tokens() == [customer_token(org)]


def test_revocation_switches_the_partners_rows_and_says_so_in_its_audit_row(
        org, other_org, partner_org, delegation, partner_actor, customer_admin):
    mine = [make_person(org) for _ in range(2)]
    for person in mine:
        update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    # Another customer of the same partner keeps its partner pushes.
    Delegation.objects.create(customer=other_org, partner=partner_org)
    theirs = make_person(other_org)
    update(theirs, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    revoke(delegation, customer_admin)
    assert not ForwardingSettings.objects.filter(person__in=mine,
                                                 push_via_partner__isnull=False).exists()
    assert ForwardingSettings.objects.get(person=theirs).push_via_partner == partner_org
    event = AuditEvent.objects.get(event="delegation.revoked")
    assert event.org == org and event.actor == customer_admin
    assert event.old == {"partner": partner_org.name, "partner_id": partner_org.pk}
    assert event.data == {"jobs_stopped": [], "pushes_switched_to_own_connection": 2}


# --- bulk jobs ----------------------------------------------------------------------------------


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(Celery, "send_task", lambda *a, **k: None)


def busy_job(org, people, actor):
    plan = plan_edit(org, [p.pk for p in people], feature="busy",
                                    action="set", destination="2009")
    job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                          description="Forward when busy to 2009")
    ids = list(job.rows.order_by("line").values_list("id", flat=True))
    return job, ids


def statuses(job):
    return list(job.rows.order_by("line").values_list("status", flat=True))


def test_a_partners_running_job_stops_when_the_delegation_is_revoked(
        org, partner_org, delegation, partner_actor, customer_admin, no_broker):
    people = [make_person(org) for _ in range(5)]
    job, ids = busy_job(org, people, partner_actor)
    assert jobs.apply_rows(job_id=job.pk, row_ids=ids[:2]) == 2
    revoke(delegation, customer_admin)
    # The rest of the chunk arrives after the revocation: nothing more is applied.
    assert jobs.apply_rows(job_id=job.pk, row_ids=ids[2:]) == 0
    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED
    assert job.stopped_reason == (f"The delegation to {partner_org.name} was revoked by "
                                  f"{customer_admin.email}.")
    assert statuses(job) == ["applied", "applied", "failed", "failed", "failed"]
    assert BulkJobRow.objects.get(pk=ids[4]).errors == {"non_field_errors": [
        f"Not applied: the job was stopped. {job.stopped_reason}"]}
    assert not ForwardingSettings.objects.filter(person__in=people[2:],
                                                 busy_enabled=True).exists()
    stopped = AuditEvent.objects.get(event="bulk.job_stopped")
    assert (stopped.org, stopped.actor, stopped.data["not_applied"], stopped.data["applied"]) \
        == (org, customer_admin, 3, 2)
    assert AuditEvent.objects.get(event="delegation.revoked").data["jobs_stopped"] == [job.pk]
    assert not AuditEvent.objects.filter(event="bulk.job_finished").exists()

    # The customer undoes what the partner's job did apply.
    undo = jobs.job_undo(job=job, actor=Actor.for_user(customer_admin))
    undo_ids = list(undo.rows.values_list("id", flat=True))
    assert len(undo_ids) == 2
    jobs.apply_rows(job_id=undo.pk, row_ids=undo_ids)
    undo.refresh_from_db()
    assert undo.status == BulkJob.DONE
    assert not ForwardingSettings.objects.filter(busy_enabled=True).exists()


def test_the_apply_loop_stops_a_job_whose_creator_lost_access_any_other_way(
        org, partner_org, delegation, partner_actor, no_broker):
    people = [make_person(org) for _ in range(3)]
    job, ids = busy_job(org, people, partner_actor)
    # Revoked behind the services' back (Django admin): the loop's own check stops it.
    Delegation.objects.filter(pk=delegation.pk).update(revoked_at=timezone.now())
    assert jobs.apply_rows(job_id=job.pk, row_ids=ids) == 0
    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED
    assert "no longer has access" in job.stopped_reason
    assert statuses(job) == ["failed"] * 3
    assert AuditEvent.objects.get(event="bulk.job_stopped").actor_label == \
        "bulk job access check"


def test_an_admin_removed_from_the_org_has_their_running_job_stopped(
        org, admin_user, customer_admin, no_broker):
    people = [make_person(org) for _ in range(3)]
    job, ids = busy_job(org, people, Actor.for_user(admin_user))
    jobs.apply_rows(job_id=job.pk, row_ids=ids[:1])
    portal_services.membership_remove(
        membership=Membership.objects.get(user=admin_user, org=org),
        actor=Actor.for_user(customer_admin))
    assert jobs.apply_rows(job_id=job.pk, row_ids=ids[1:]) == 0
    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED and statuses(job) == ["applied", "failed", "failed"]
    event = AuditEvent.objects.get(event="membership.removed")
    assert event.data["jobs_stopped"] == [job.pk]


def test_a_partner_admin_removed_from_the_partner_org_stops_their_customer_jobs(
        org, partner_org, delegation, partner_admin, partner_actor, no_broker):
    keeper = make_user(org=partner_org, role=Membership.ADMIN, mfa=True)
    job, ids = busy_job(org, [make_person(org) for _ in range(2)], partner_actor)
    portal_services.membership_remove(
        membership=Membership.objects.get(user=partner_admin, org=partner_org),
        actor=Actor.for_user(keeper))
    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED and statuses(job) == ["failed", "failed"]
    assert job.stopped_reason == (f"{partner_admin.email} was removed from "
                                  f"{partner_org.name} by {keeper.email}.")


def test_removing_someone_else_leaves_a_job_running(org, admin_user, customer_admin,
                                                    member, no_broker):
    job, ids = busy_job(org, [make_person(org) for _ in range(2)], Actor.for_user(admin_user))
    portal_services.membership_remove(
        membership=Membership.objects.get(user=member, org=org),
        actor=Actor.for_user(customer_admin))
    assert jobs.apply_rows(job_id=job.pk, row_ids=ids) == 2
    job.refresh_from_db()
    assert job.status == BulkJob.DONE


def test_a_stopped_job_is_not_marked_done_by_a_late_chunk(
        org, partner_org, delegation, partner_actor, customer_admin, no_broker):
    job, ids = busy_job(org, [make_person(org) for _ in range(2)], partner_actor)
    revoke(delegation, customer_admin)
    assert jobs.finish_if_done(job) is False
    job.refresh_from_db()
    assert job.status == BulkJob.STOPPED


def test_a_revocation_that_rolls_back_stops_nothing(
        org, partner_org, delegation, partner_actor, customer_admin, no_broker):
    person = make_person(org)
    update(person, actor=partner_actor, busy_enabled=True, busy_destination="2001")
    job, _ids = busy_job(org, [make_person(org)], partner_actor)
    with pytest.raises(RuntimeError), transaction.atomic():
        revoke(delegation, customer_admin)
        raise RuntimeError("something later in the same transaction failed")
    job.refresh_from_db()
    assert job.status == BulkJob.QUEUED
    assert ForwardingSettings.objects.get(person=person).push_via_partner == partner_org


def test_the_stopped_jobs_page_and_api_say_why_and_offer_the_undo(
        client, org, partner_org, delegation, partner_actor, customer_admin, no_broker):
    from django.urls import reverse

    job, ids = busy_job(org, [make_person(org) for _ in range(3)], partner_actor)
    jobs.apply_rows(job_id=job.pk, row_ids=ids[:1])
    revoke(delegation, customer_admin)
    job.refresh_from_db()
    client.force_login(customer_admin)
    html = client.get(reverse("bulk_job", args=[job.pk])).content.decode()
    assert f"Stopped: {job.stopped_reason}" in html
    assert reverse("bulk_job_undo", args=[job.pk]) in html
    data = client.get(reverse("api_bulk_job", args=[job.pk])).json()
    assert (data["status"], data["stopped_reason"]) == ("stopped", job.stopped_reason)
    assert (data["progress"]["applied"], data["progress"]["failed"],
            data["progress"]["pending"]) == (1, 2, 0)
