"""A bulk job saves a chunk of rows per transaction (forwarding.rules.batch): the same
settings, versions, audit rows, announced events, pushes and emails as applying its rows
one by one (jobs.apply_row, the path every row took before), at a cost per chunk rather
than per row; and a job is applied by one task, chunk after chunk."""

from unittest import mock

import pytest
from celery import Celery
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_csv, plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from forwarding.rules import emails
from forwarding.sync import outbox, ratelimit
from portal.audit import Actor
from portal.models import AuditEvent, EventDelivery, EventEndpoint, Membership, OutgoingEvent
from tests.bulk.test_bulk import csv_text
from tests.cast import make_org, make_person, make_user, update

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """Celery messages the code would send: (task name, args, kwargs, queue)."""
    sent = []

    def send_task(app, name, args=None, kwargs=None, queue=None, **options):
        sent.append((name.removeprefix("forwarding."), args, kwargs, queue))

    monkeypatch.setattr(Celery, "send_task", send_task)
    return sent


def pushes_of(enqueued):
    """(settings id, kwargs) of every push the messages ask for: one each for
    push_settings, one per item for push_batch."""
    out = []
    for task, args, kwargs, _queue in enqueued:
        if task == "push_settings":
            out.append((args[0], kwargs))
        elif task == "push_batch":
            out.extend((settings_id, kwargs) for settings_id, _slot in args[0])
    return out


def send_queued_emails(enqueued):
    """Run the email tasks the messages ask for, as the bulk worker would."""
    for task, args, _kwargs, _queue in enqueued:
        if task == "send_change_notices":
            emails.send_change_notices(args[0])


def world(n, *, name, exchange):
    """An org of `n` Webex people (with addresses, so each change emails them), an event
    endpoint taking every event, and its admin's actor."""
    org = make_org("webex", name=name)
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    EventEndpoint.objects.create(org=org, url="https://hooks.example/x",
                                 secrets={"current": "whsec_AAAA"})
    people = [make_person(org, name=f"{name} {k}", email=f"{name.lower()}{k}@acme.example",
                          number=f"+1202{exchange}{k:04d}") for k in range(n)]
    return org, people, Actor.for_user(admin, ip="192.0.2.20")


def shape(org, job):
    """What applying `job` left for `org`, without ids, times or names that differ
    between two orgs by construction."""
    settings = list(ForwardingSettings.objects.filter(person__org=org).order_by("person__id")
                    .values_list("version", "always_enabled", "always_destination",
                                 "busy_enabled", "busy_destination", "sync_status"))
    audit = []
    for event in AuditEvent.objects.filter(correlation_id=job.correlation_id,
                                           event="forwarding.updated").order_by("id"):
        assert event.org_id == org.pk and event.actor_id == job.created_by_id
        assert event.actor_label == f"{job.created_by_label} · bulk job #{job.pk}"
        audit.append((event.ip, event.data, event.old, event.new,
                      event.person_label.split()[1], event.person_id - job.rows.first()
                      .person_id))
    events = list(OutgoingEvent.objects.filter(org=org).order_by("id")
                  .values_list("type", flat=True))
    deliveries = EventDelivery.objects.filter(event__org=org).count()
    return settings, audit, events, deliveries


def run_chunked(job):
    jobs.apply_rows(job_id=job.pk)


def run_row_by_row(job):
    actor = jobs.job_actor(job)
    for row_id in job.rows.filter(status=BulkJobRow.PENDING).order_by("line") \
            .values_list("id", flat=True):
        jobs.apply_row(row_id=row_id, actor=actor)
    jobs.finish_if_done(job)


def test_a_chunk_writes_what_row_by_row_writes(enqueued, django_capture_on_commit_callbacks):
    results = {}
    for name, apply, exchange in (("Chunked", run_chunked, 410),
                                  ("Rowwise", run_row_by_row, 420)):
        org, people, actor = world(30, name=name, exchange=exchange)
        # One person already has what the file asks (unchanged), one has a version the
        # file does not know (stale), one asks for a loop through their own line.
        update(people[3], always_enabled=True, always_destination="+13035550100")
        lines = [{"email": p.email, "always_enabled": "yes",
                  "always_destination": "+13035550100"} for p in people]
        lines[5]["always_destination"] = people[5].phone_number
        plan = plan_csv(org, csv_text(lines, ("email", "always_enabled",
                                              "always_destination")))
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.IMPORT,
                                  description="always")
        update(people[7], busy_enabled=True, busy_destination="2001")  # after the plan
        BulkJobRow.objects.filter(job=job, person=people[7]).update(expected_version=1)
        mail.outbox.clear()
        enqueued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            apply(job)
        send_queued_emails(enqueued)
        job.refresh_from_db()
        assert job.status == BulkJob.DONE
        rows = list(job.rows.order_by("line").values_list("status", "errors", "new_version",
                                                          "previous", "written"))
        base = ForwardingSettings.objects.filter(person__org=org).order_by("pk").first().pk
        pushes = sorted((settings_id - base, kwargs["queue"])
                        for settings_id, kwargs in pushes_of(enqueued))
        results[name] = (shape(org, job), rows, pushes, len(mail.outbox),
                         sorted(m.to[0].split("@")[0][len(name):] for m in mail.outbox))
    chunked, rowwise = results["Chunked"], results["Rowwise"]
    # Rows and their outcomes: applied, the unchanged one, the stale one, no loop.
    statuses = [status for status, *_ in chunked[1]]
    assert statuses.count("applied") == 27 and statuses[7] == "failed" and \
        statuses[5] == "invalid" and statuses[3] == "unchanged"
    assert "version" in chunked[1][7][1]
    assert chunked[0][0] == rowwise[0][0]  # settings and versions
    assert chunked[0][1] == rowwise[0][1]  # audit rows: who, data, old and new snapshots
    # Announced: 27 changes, the job's end and the two edits by hand, each delivered.
    assert chunked[0][2] == rowwise[0][2] and chunked[0][3] == rowwise[0][3] == 27 + 1 + 2
    assert chunked[1] == rowwise[1]  # the job's rows, what undo reads
    assert chunked[2] == rowwise[2] and len(chunked[2]) == 27  # one push each, bulk queue
    assert {q for _pk, q in chunked[2]} == {"bulk"}
    assert chunked[3:] == rowwise[3:] and chunked[3] == 27  # one email per person changed


def test_two_rows_of_one_chunk_that_loop_together_are_refused(enqueued):
    org, people, actor = world(3, name="Loops", exchange=430)
    a, b, _c = people
    plan = plan_csv(org, csv_text([
        {"email": a.email, "always_enabled": "yes", "always_destination": b.phone_number},
        {"email": b.email, "always_enabled": "yes", "always_destination": a.phone_number},
    ], ("email", "always_enabled", "always_destination")))
    # The dry run sees it too; make the job anyway, as if the plan were older.
    job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.IMPORT,
                          description="loop")
    BulkJobRow.objects.filter(job=job).update(status=BulkJobRow.PENDING, errors={},
                                              changes={"always_enabled": True})
    BulkJobRow.objects.filter(job=job, person=a).update(changes={
        "always_enabled": True, "always_destination": b.phone_number})
    BulkJobRow.objects.filter(job=job, person=b).update(changes={
        "always_enabled": True, "always_destination": a.phone_number})
    jobs.apply_rows(job_id=job.pk)
    first, second = job.rows.order_by("line")
    assert first.status == BulkJobRow.APPLIED
    assert second.status == BulkJobRow.FAILED and "always_destination" in second.errors
    assert not ForwardingSettings.objects.get(person=b).always_enabled


def test_a_chunk_costs_a_fixed_number_of_queries(enqueued):
    def queries(n, name):
        org, people, actor = world(n, name=name, exchange=440 + n)
        plan = plan_edit(org, [p.id for p in people], feature="always", action="set",
                         destination="+13035550100")
        job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                              description="always")
        rows = list(job.rows.values_list("id", flat=True))
        with CaptureQueriesContext(connection) as captured:
            assert jobs.apply_chunk(job=job, row_ids=rows, actor=jobs.job_actor(job)) == n
        return len(captured)

    # Row by row this was about 20 queries a row.
    assert queries(5, "Small") == queries(40, "Large")


def test_a_job_is_applied_by_one_task_and_its_pushes_are_due_at_once(
        enqueued, django_capture_on_commit_callbacks, settings):
    org, people, actor = world(250, name="Many", exchange=490)
    plan = plan_edit(org, [p.id for p in people], feature="always", action="set",
                     destination="+13035550100")
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                              description="always")
    # One task for the whole job: a job's chunks never take every worker at once (they
    # were tasks of 100 rows each, run side by side, while the pushes waited).
    assert [(task, args) for task, args, _kw, _q in enqueued] == [
        ("bulk_apply", [job.pk, None])]
    enqueued.clear()
    reserved = []
    reserve_many = ratelimit.reserve_many

    def noting_reservations(org, count, *, not_before):
        waits, ok = reserve_many(org, count, not_before=not_before)
        reserved.append((not_before, waits))
        return waits, ok

    with mock.patch.object(ratelimit, "reserve_many", noting_reservations), \
            django_capture_on_commit_callbacks(execute=True):
        jobs.apply_rows(job_id=job.pk)
    pushes = [kwargs for _settings_id, kwargs in pushes_of(enqueued)]
    assert len(pushes) == 250 and all(kw["slot_reserved"] for kw in pushes)
    # Pushes of a bulk job are not debounced: the org's first slot is now, not 0.5 s on.
    # Read from the slots reserved, not from the clock: on a slow machine, saving the 250
    # rows alone can take longer than the debounce.
    assert reserved and all(not_before == 0 for not_before, _waits in reserved)
    assert reserved[0][1][0] < outbox.DEBOUNCE.total_seconds()
    rows = ForwardingSettings.objects.filter(person__org=org).order_by("next_attempt_at")
    assert rows.first().sync_status == SyncStatus.PENDING


def test_reserve_many_takes_consecutive_slots(settings):
    org = make_org("webex", name="Paced")
    org.rate_limit_per_second = 10
    waits, reserved = ratelimit.reserve_many(org, 5)
    steps = [round(b - a, 3) for a, b in zip(waits, waits[1:], strict=False)]
    assert reserved and steps == [0.1] * 4
    after, _ = ratelimit.reserve(org)
    assert after == pytest.approx(waits[-1] + 0.1, abs=0.05)
