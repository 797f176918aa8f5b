"""Bulk jobs: a CSV import or a bulk edit from the people list, and the undo of either.

A job is created from a plan (forwarding.bulk.selectors.plan: the dry run) with one row
per person; one Celery task on the `bulk` queue then applies the pending rows in order, a
chunk per transaction through `batch.forwarding_update_many` (the same validation, version
bump, audit row, announced event, push request and email as a page's save, paid per chunk:
one locking SELECT, one UPDATE, one audit INSERT, the chunk's push slots reserved at once).
Each chunk's pushes (bulk queue, no debounce) start when it commits, while the next chunk
is saved; the first chunks are small so the first pushes start at once. A row that fails
is recorded with its reasons and the others go on; a chunk that fails as a whole is
applied row by row (`apply_row`, through `services.forwarding_update`). Each applied row
keeps the full snapshot from before, which is what undo brings back, as a new audited
change.

A job runs only while its creator may still act on the org the way they started it
(`access.still_reaches`): the apply loop checks before every chunk, and a revoked
delegation or a removed admin stops the job at once (`job_stop`, called by
forwarding.bulk.revocation in the revoking transaction, waits for a chunk being applied).
A stopped job keeps its applied rows, so it can be undone.

Event codes written here: bulk.job_created, bulk.job_finished, bulk.job_stopped (the
changes themselves are forwarding.updated rows whose correlation_id is the job's).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from itertools import islice

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from forwarding.bulk.selectors import job_progress, undo_changes
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings
from forwarding.rules import batch, services
from portal import access, audit
from portal.rowsets import insert_rows, update_rows

log = logging.getLogger(__name__)

EVENT_JOB_CREATED = audit.Event.BULK_JOB_CREATED
EVENT_JOB_FINISHED = audit.Event.BULK_JOB_FINISHED
EVENT_JOB_STOPPED = audit.Event.BULK_JOB_STOPPED
QUEUE = "bulk"
# Queued by name (forwarding.bulk.tasks registers it): this module never imports tasks.
APPLY_TASK = "forwarding.bulk_apply"
# Rows saved per transaction: a chunk's pushes start when it commits. A job's first
# chunks are smaller (FIRST_CHUNK, doubling up to CHUNK_SIZE), so its first pushes go out
# after a few rows are saved instead of a whole chunk.
CHUNK_SIZE = 200
FIRST_CHUNK = 25
INSERT_BATCH = 2000  # job rows stored per INSERT
# A task hands what is left to a new task after this long, well inside its time limit
# (a slow provider check or a big org must not get a chunk killed mid-way).
TASK_BUDGET_SECONDS = settings.BULK_APPLY_TIME_LIMIT / 2


def job_actor(job: BulkJob) -> audit.Actor:
    """The Actor of every change a job makes: its creator, on whose behalf, from where,
    and the job's correlation id."""
    return audit.Actor(
        user=job.created_by, label=f"{job.created_by_label} · bulk job #{job.pk}"[:200],
        ip=job.ip, via_partner=job.via_partner, correlation_id=job.correlation_id,
    )


def _count(counts, rows):
    counts["rows"] += len(rows)
    for row in rows:
        if row.status == BulkJobRow.PENDING:
            counts["pending"] += 1
        elif row.status == BulkJobRow.INVALID:
            counts["invalid"] += 1
        elif row.status == BulkJobRow.UNCHANGED:
            counts["unchanged"] += 1


def _job(*, org, kind, actor, description, filename="", undo_of=None) -> BulkJob:
    return BulkJob.objects.create(
        org=org, kind=kind, description=description[:300], filename=filename[:200],
        created_by=actor.user, created_by_label=actor.label[:200],
        via_partner=actor.via_partner, ip=actor.ip, undo_of=undo_of,
        correlation_id=uuid.uuid4().hex,
    )


def _start(job, rows):
    """Store the rows, write the audit row, and enqueue the pending rows after commit.
    `rows` may be a generator: they are stored a batch at a time (a job of a big file
    never has all its rows in memory)."""
    counts = {"rows": 0, "pending": 0, "invalid": 0, "unchanged": 0}
    rows = iter(rows)
    while batch := list(islice(rows, INSERT_BATCH)):
        insert_rows(BulkJobRow, batch)
        _count(counts, batch)
    if counts["pending"] == 0:
        job.status, job.finished_at = BulkJob.DONE, timezone.now()
        job.save(update_fields=["status", "finished_at"])
    audit.record(
        event=EVENT_JOB_CREATED, actor=job_actor(job), org=job.org,
        data={"job": job.pk, "kind": job.kind, "description": job.description,
              "filename": job.filename, "undo_of": job.undo_of_id, **counts},
    )
    if counts["pending"]:
        transaction.on_commit(lambda: enqueue_pending(job.pk))
    return job


def job_create(*, org, plan, actor: audit.Actor, kind: str, description: str,
               filename: str = "") -> BulkJob:
    """A job from a plan: valid rows that change something are pending, the others are
    recorded as they are (invalid with their reasons, or already so)."""
    with transaction.atomic():
        job = _job(org=org, kind=kind, actor=actor, description=description,
                   filename=filename)
        return _start(job, (_plan_row(job, item) for item in plan.rows))


def _plan_row(job, item) -> BulkJobRow:
    row = BulkJobRow(job=job, line=item.line, key=item.key[:254], person=item.person,
                     person_label=item.person_label[:200],
                     expected_version=item.expected_version)
    if not item.valid:
        row.status, row.errors = BulkJobRow.INVALID, item.errors
        row.finished_at = timezone.now()
    elif not item.changed:
        row.status, row.new_version = BulkJobRow.UNCHANGED, item.current_version
        row.finished_at = timezone.now()
    else:
        row.changes = item.json_changes()
    return row


def job_undo(*, job: BulkJob, actor: audit.Actor) -> BulkJob:
    """A new job that gives every person the job changed their settings from before it,
    for the fields the job changed, where those fields still hold what the job wrote
    (fields somebody changed since are left alone, and the row says so)."""
    now = timezone.now()
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().get(pk=job.pk)
        later = BulkJob.objects.filter(undo_of=job).order_by("id").first()
        if later is not None:
            raise ValidationError({"job": [f"This job was undone already (job #{later.pk})."]})
        if job.rows.filter(status=BulkJobRow.PENDING).exists():
            raise ValidationError({"job": ["This job is still running; undo it when it has "
                                           "finished."]})
        keep_days = settings.RETENTION_BULK_JOBS_DAYS
        if keep_days and job.finished_at and job.finished_at < now - timedelta(days=keep_days):
            # Its rows (what undo brings back) are being removed (forwarding.upkeep.retention).
            raise ValidationError({"job": [f"This job finished more than {keep_days} days "
                                           f"ago; it can no longer be undone."]})
        applied = list(job.rows.filter(status=BulkJobRow.APPLIED).select_related("person")
                       .order_by("line", "id"))
        undo = _job(org=job.org, kind=BulkJob.UNDO, actor=actor, undo_of=job,
                    description=f"Undo of job #{job.pk}: {job.description}")
        rows = []
        for source in applied:
            changes, guard, note = undo_changes(source, now)
            row = BulkJobRow(job=undo, line=source.line, key=source.key, person=source.person,
                             person_label=source.person_label, changes=changes, guard=guard)
            if source.person is None:
                row.status = BulkJobRow.FAILED
                row.errors = {"non_field_errors": ["This person no longer exists."]}
                row.finished_at = now
            elif not changes:
                row.status, row.finished_at = BulkJobRow.UNCHANGED, now
                row.errors = {"non_field_errors": [note]} if note else {}
            elif note:
                row.errors = {"non_field_errors": [note]}
            rows.append(row)
        return _start(undo, rows)


# --- applying rows (Celery, bulk queue) ----------------------------------------------------------


def enqueue_pending(job_id, *, countdown=None) -> int:
    """Enqueue the job's pending rows: one task that applies them all, in order, a chunk
    per transaction (one task at a time, so a job's saving never takes every worker from
    the pushes it starts). Best effort: with the broker down the rows stay pending and
    `job_resume` (the job page's button) enqueues them again. Returns the pending rows."""
    pending = BulkJobRow.objects.filter(job_id=job_id, status=BulkJobRow.PENDING).count()
    if not pending:
        return 0
    try:
        current_app.send_task(APPLY_TASK, args=[job_id, None], queue=QUEUE, retry=False,
                              countdown=countdown)
    except Exception as exc:  # the broker may be down; the rows are safe
        log.warning("could not enqueue rows of bulk job %s (%s)", job_id, exc)
        return 0
    return pending


def job_resume(*, job: BulkJob) -> int:
    """Enqueue the job's pending rows again (a lost message, a broker that was down).
    Safe at any time: a row is applied at most once, whoever picks it up."""
    return enqueue_pending(job.pk)


def resume_stalled(*, now=None) -> list[int]:
    """Enqueue again the pending rows of every queued or running job that has not applied
    a row for BULK_STALLED_AFTER seconds: its task died with its worker, or its message
    was lost with the broker. Returns those jobs' ids."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.BULK_STALLED_AFTER)
    stalled = []
    for job in (BulkJob.objects.filter(status__in=BulkJob.ACTIVE)
                .annotate(progress=Coalesce(Max("rows__finished_at"), "started_at",
                                            "created_at"))
                .filter(progress__lt=before).only("pk")):
        if enqueue_pending(job.pk):
            stalled.append(job.pk)
    if stalled:
        log.warning("bulk jobs %s had stalled (no row applied for %d s); their pending rows "
                    "are enqueued again", stalled, settings.BULK_STALLED_AFTER)
    return stalled


def _chunks(job, row_ids):
    """The chunks to apply: of `row_ids` in their order, or (None) of the job's pending
    rows in line order, read a chunk at a time after the last one seen (rows another task
    holds are passed over, not waited for)."""
    size = FIRST_CHUNK
    if row_ids is not None:
        start = 0
        while start < len(row_ids):
            yield list(row_ids[start:start + size])
            start, size = start + size, min(CHUNK_SIZE, size * 2)
        return
    after = None
    while True:
        query = BulkJobRow.objects.filter(job_id=job.pk, status=BulkJobRow.PENDING)
        if after is not None:
            query = query.filter(Q(line__gt=after[0]) | Q(line=after[0], id__gt=after[1]))
        chunk = list(query.order_by("line", "id").values_list("line", "id")[:size])
        if not chunk:
            return
        after, size = chunk[-1], min(CHUNK_SIZE, size * 2)
        yield [row_id for _line, row_id in chunk]


def apply_rows(*, job_id, row_ids=None, budget=TASK_BUDGET_SECONDS) -> int:
    """Apply these pending rows of the job (None: all its pending rows), in order, a
    chunk per transaction; returns how many this call applied. Rows done already (a
    redelivered task) are skipped."""
    job = BulkJob.objects.select_related("org", "created_by", "via_partner").get(pk=job_id)
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.QUEUED).update(
        status=BulkJob.RUNNING, started_at=timezone.now())
    actor = job_actor(job)
    started = time.monotonic()
    # Well inside the task's soft time limit too (short in tests), whatever was asked.
    budget = min(budget, settings.BULK_APPLY_TIME_LIMIT / 2)
    done = 0
    position = 0  # rows of `row_ids` handled so far
    for chunk in _chunks(job, row_ids):
        # Before every chunk, not once per task: a revocation between two chunks must
        # stop the next one, whatever road the access was lost by (a service, Django
        # admin). A revocation during a chunk waits for it (job_stop locks its rows).
        if not access.still_reaches(job.created_by, job.org, job.via_partner):
            job_stop(job=job, reason=f"{job.created_by_label} no longer has access to "
                                     f"{job.org.name}.",
                     actor=audit.Actor.system("bulk job access check"))
            return done
        if time.monotonic() - started > budget:
            rest = None if row_ids is None else list(row_ids[position:])
            current_app.send_task(APPLY_TASK, args=[job.pk, rest], queue=QUEUE, retry=False)
            break
        done += apply_chunk(job=job, row_ids=chunk, actor=actor)
        position += len(chunk)
    finish_if_done(job)
    return done


def apply_chunk(*, job, row_ids, actor: audit.Actor) -> int:
    """The chunk's pending rows in one transaction (forwarding.rules.batch): the changes,
    their audit rows and push requests, and the rows' outcomes commit together, and the
    pushes start when it commits, while the next chunk is being saved. Should the chunk
    fail as a whole, its rows are applied one by one instead. Returns the rows applied."""
    try:
        with transaction.atomic():
            rows = list(BulkJobRow.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("person")
                        .filter(pk__in=row_ids, status=BulkJobRow.PENDING))
            # The job's org object for every person (all of them are its people): one
            # loaded per row would decrypt the org's credentials once per row.
            for row in rows:
                if row.person is not None and row.person.org_id == job.org_id:
                    row.person.org = job.org
            order = {row_id: n for n, row_id in enumerate(row_ids)}
            rows.sort(key=lambda row: order[row.pk])
            _apply_many(rows, actor)
            return len(rows)
    except SoftTimeLimitExceeded:
        raise  # out of time: the rows stay pending (the job page's resume enqueues them)
    except Exception:  # one broken row must not stop the others: try them one by one
        log.exception("bulk job %s: a chunk failed; applying its rows one by one", job.pk)
        return sum(1 for row_id in row_ids if apply_row(row_id=row_id, actor=actor))


def _guard_check(row):
    def check(before):
        moved = sorted(name for name, value in row.guard.items() if before.get(name) != value)
        return {name: ["Changed since the bulk job; left as it is."] for name in moved}
    return check


def _apply_many(rows, actor) -> None:
    now = timezone.now()
    gone = [row for row in rows if row.person is None]
    for row in gone:
        row.status = BulkJobRow.FAILED
        row.errors = {"non_field_errors": ["This person no longer exists."]}
    live = [row for row in rows if row.person is not None]
    # Loops through busy, no answer or offline forwarding were shown as row warnings by
    # the dry run: applying it confirms them.
    outcomes = batch.forwarding_update_many(
        items=[batch.Item(person=row.person, changes=row.changes,
                          expected_version=row.expected_version,
                          check=_guard_check(row) if row.guard is not None else None)
               for row in live],
        actor=actor, push_queue=QUEUE, confirm_loops=True, now=now)
    for row, outcome in zip(live, outcomes, strict=True):
        if outcome.errors:
            row.status, row.errors = BulkJobRow.FAILED, outcome.errors
            continue
        saved = outcome.settings
        row.new_version = saved.version
        if not outcome.changed:
            row.status = BulkJobRow.UNCHANGED
            continue
        after = services.snapshot(saved)
        row.status = BulkJobRow.APPLIED
        row.previous = outcome.before
        row.written = {name: after[name] for name in row.changes if name in after}
    for row in rows:
        row.finished_at = now
    update_rows(BulkJobRow, rows, ["status", "errors", "finished_at", "new_version",
                                   "previous", "written"])


def apply_row(*, row_id, actor: audit.Actor) -> bool:
    """One row in one transaction (the fallback of a chunk that failed): the change (with
    its audit row and push request) and the row's outcome commit together. False when
    the row was not pending."""
    try:
        with transaction.atomic():
            row = (BulkJobRow.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("person__org")
                   .filter(pk=row_id, status=BulkJobRow.PENDING).first())
            if row is None:
                return False
            fields = _apply(row, actor)
            row.finished_at = timezone.now()
            row.save(update_fields=[*fields, "status", "errors", "finished_at"])
            return True
    except Exception:  # one broken row must not stop the others
        log.exception("bulk job row %s failed unexpectedly", row_id)
        BulkJobRow.objects.filter(pk=row_id, status=BulkJobRow.PENDING).update(
            status=BulkJobRow.FAILED, finished_at=timezone.now(),
            errors={"non_field_errors": ["An unexpected error stopped this row; the other "
                                         "rows went on. Try it again on its own."]})
        return True


def _apply(row: BulkJobRow, actor) -> list[str]:
    """Apply `row` under the settings row's lock; returns the row fields it set."""
    person = row.person
    if person is None:
        row.status = BulkJobRow.FAILED
        row.errors = {"non_field_errors": ["This person no longer exists."]}
        return []
    services.settings_for(person)
    locked = (ForwardingSettings.objects.select_for_update().prefetch_related("caller_rules")
              .get(person=person))
    locked.person = person
    before = services.snapshot(locked)
    if row.guard is not None:
        moved = sorted(name for name, value in row.guard.items() if before.get(name) != value)
        if moved:
            row.status = BulkJobRow.FAILED
            row.errors = {name: ["Changed since the bulk job; left as it is."]
                          for name in moved}
            return []
    expected = row.expected_version if row.expected_version is not None else locked.version
    try:
        # forwarding_update runs in a savepoint: a refused row leaves nothing behind
        # but the row's own outcome. Loops through busy, no answer or offline forwarding
        # were shown as row warnings by the dry run: applying it confirms them.
        saved = services.forwarding_update(
            person=person, changes=row.changes, expected_version=expected, actor=actor,
            push_queue=QUEUE, confirm_loops=True)
    except services.StaleVersion as exc:
        row.status, row.errors = BulkJobRow.FAILED, {"version": [exc.message]}
        return []
    except ValidationError as exc:
        row.status = BulkJobRow.FAILED
        row.errors = ({k: list(v) for k, v in exc.message_dict.items()}
                      if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
        return []
    after = services.snapshot(saved)
    row.new_version = saved.version
    if saved.version == locked.version:
        row.status = BulkJobRow.UNCHANGED
        return ["new_version"]
    row.status = BulkJobRow.APPLIED
    row.previous = before
    row.written = {name: after[name] for name in row.changes if name in after}
    return ["new_version", "previous", "written"]


def finish_if_done(job: BulkJob) -> bool:
    """Mark the job done once no row is pending (once, whichever task gets there)."""
    if BulkJobRow.objects.filter(job=job, status=BulkJobRow.PENDING).exists():
        return False
    with transaction.atomic():
        # Only a queued or running job finishes: a stopped one keeps its status.
        finished = BulkJob.objects.filter(pk=job.pk, status__in=BulkJob.ACTIVE).update(
            status=BulkJob.DONE, finished_at=timezone.now())
        if finished:
            progress = job_progress(job)
            audit.record(
                event=EVENT_JOB_FINISHED, actor=job_actor(job), org=job.org,
                data={"job": job.pk, "kind": job.kind, "applied": progress["applied"],
                      "failed": progress["failed"]},
            )
    return bool(finished)


def job_stop(*, job: BulkJob, reason: str, actor: audit.Actor) -> bool:
    """Stop a queued or running job: its rows not applied yet are marked so (with the
    reason) and never will be; the applied ones stay, so the job can still be undone.
    Once, whoever gets there first (a revocation and the job's own loop may race).
    Returns True when this call stopped it.

    In a transaction that also changes settings rows, call it first: a row being applied
    holds its job row (BulkJobRow), then locks the person's settings row; taking the job
    rows before any settings row keeps the two transactions from waiting on each other."""
    now = timezone.now()
    with transaction.atomic():
        locked = (BulkJob.objects.select_for_update().select_related("org")
                  .filter(pk=job.pk, status__in=BulkJob.ACTIVE).first())
        if locked is None:
            return False
        # A row being applied right now is waited for and keeps its outcome.
        skipped = BulkJobRow.objects.filter(job_id=locked.pk, status=BulkJobRow.PENDING).update(
            status=BulkJobRow.FAILED, finished_at=now,
            errors={"non_field_errors": [f"Not applied: the job was stopped. {reason}"]})
        if not skipped:
            return False  # nothing was left to do: the job finishes as usual
        locked.status, locked.stopped_reason, locked.finished_at = (
            BulkJob.STOPPED, reason[:300], now)
        locked.save(update_fields=["status", "stopped_reason", "finished_at"])
        progress = job_progress(locked)
        audit.record(
            event=EVENT_JOB_STOPPED, actor=actor, org=locked.org,
            data={"job": locked.pk, "kind": locked.kind, "reason": reason,
                  "created_by": locked.created_by_label, "not_applied": skipped,
                  "applied": progress["applied"]},
        )
    job.status, job.stopped_reason, job.finished_at = locked.status, locked.stopped_reason, now
    return True
