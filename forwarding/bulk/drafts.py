"""Dry runs of CSV imports, kept in the database until they are applied (BulkDraft).

A dry run stores the uploaded file and, row by row, what applying it would do
(BulkDraftRow), so its results are read a page at a time and "Apply" creates the job
from the stored rows without parsing the file again. Files of more than
BULK_INLINE_DRY_RUN_ROWS rows are checked by a task on the bulk queue while the person
watches a progress page; smaller ones within the request. Either way memory stays
bounded: the file is read as a stream and the rows are stored a batch at a time.

What bounds the storage: a file is refused beyond BULK_MAX_ROWS rows (before any real
work), a user keeps at most BULK_DRAFTS_PER_USER dry runs (a new one discards the
oldest), and a dry run expires after BULK_DRAFT_SECONDS (expired ones are deleted when
anybody starts a new one). Only the person who made a dry run sees or applies it.

A dry run writes no settings and no audit row; applying one is a bulk job
(forwarding.bulk.jobs), audited there.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from forwarding.bulk import jobs
from forwarding.bulk.csvfile import BATCH, CsvFile
from forwarding.bulk.plan import PRELOAD_ROWS, Plan, PlanRow, _batches, iter_plan
from forwarding.models import BulkDraft, BulkDraftRow, BulkJob

log = logging.getLogger(__name__)

DRY_RUN_TASK = "forwarding.bulk_dry_run"  # registered by forwarding.bulk.tasks

EXPIRED = "This dry run has expired or was replaced by a newer one. Upload the file again."
CRASHED = ("An unexpected error stopped this dry run. Upload the file again; if it happens "
           "again, split the file.")


class LoopsNotConfirmed(Exception):
    """Applying a dry run whose changes make forwarding loops in some conditions, without
    saying so (confirm_loops): nothing is applied."""

    def __init__(self, warned: int):
        super().__init__(warned)
        self.warned = warned
        self.message = (
            f"{warned} change{'s make' if warned != 1 else ' makes'} a forwarding loop in "
            "some conditions (see the warnings on the rows). Confirm to apply anyway.")


class DraftGone(Exception):
    """The dry run is not there any more (applied, expired, discarded) or not the
    caller's: one answer for all, so nobody learns about other people's dry runs."""


def draft_create(*, org, user, via_partner, filename: str, data: bytes):
    """A dry run of `data`: (draft, []) or, when the file as a whole cannot be imported,
    (None, problems) and nothing stored. Checked at once when small, else queued for
    the bulk workers (after commit)."""
    source = CsvFile(data, max_rows=settings.BULK_MAX_ROWS)
    problems = source.check()
    if problems:
        return None, problems
    now = timezone.now()
    with transaction.atomic():
        # One upload of a user at a time past this point, so two at once cannot both
        # keep the user's oldest dry runs and go over the cap.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        BulkDraft.objects.filter(expires_at__lte=now).delete()
        keep = max(settings.BULK_DRAFTS_PER_USER, 1) - 1  # the new one counts too
        older = list(BulkDraft.objects.filter(created_by=user)
                     .order_by("-created_at", "-id").values_list("id", flat=True)[keep:])
        if older:
            BulkDraft.objects.filter(id__in=older).delete()
        draft = BulkDraft.objects.create(
            org=org, created_by=user, via_partner=via_partner, filename=filename[:200],
            data=data, rows_total=source.rows,
            expires_at=now + timedelta(seconds=settings.BULK_DRAFT_SECONDS))
        if source.rows > settings.BULK_INLINE_DRY_RUN_ROWS:
            draft_id = draft.pk
            transaction.on_commit(lambda: enqueue_dry_run(draft_id))
    if source.rows <= settings.BULK_INLINE_DRY_RUN_ROWS:
        draft_run(draft.pk)
    return BulkDraft.objects.defer("data").get(pk=draft.pk), []


def enqueue_dry_run(draft_id) -> bool:
    """Best effort: with the broker down the dry run stays queued and its page offers
    to queue it again (draft_requeue)."""
    try:
        current_app.send_task(DRY_RUN_TASK, args=[draft_id], queue=jobs.QUEUE, retry=False)
    except Exception as exc:  # the broker may be down; the draft is safe
        log.warning("could not enqueue the dry run of draft %s (%s)", draft_id, exc)
        return False
    return True


def draft_requeue(*, draft: BulkDraft) -> bool:
    """Queue a dry run that is still waiting (a lost message, a broker that was down).
    Harmless when a worker has it already: a run starts over from the file."""
    if draft.status != BulkDraft.QUEUED:
        return False
    return enqueue_dry_run(draft.pk)


def draft_run(draft_id) -> bool:
    """Check a queued dry run (the bulk worker's task, or the request for a small file)
    and store its rows; False when there is nothing to do (gone, expired, done)."""
    now = timezone.now()
    claimed = BulkDraft.objects.filter(
        pk=draft_id, status__in=[BulkDraft.QUEUED, BulkDraft.RUNNING], expires_at__gt=now,
    ).update(status=BulkDraft.RUNNING, rows_done=0, valid=0, invalid=0, changing=0,
             warned=0)
    if not claimed:
        return False
    # A run cut short (a worker killed mid-way, then the message redelivered) starts over.
    BulkDraftRow.objects.filter(draft_id=draft_id).delete()
    try:
        return _run(BulkDraft.objects.select_related("org").get(pk=draft_id))
    except BulkDraft.DoesNotExist:
        return False
    except Exception:  # a bug or the time limit: say so on the page, never leave it running
        log.exception("dry run of draft %s failed", draft_id)
        BulkDraft.objects.filter(pk=draft_id).update(
            status=BulkDraft.FAILED, file_errors=[CRASHED], finished_at=timezone.now())
        return False


def _run(draft: BulkDraft) -> bool:
    org = draft.org
    source = CsvFile(bytes(draft.data), max_rows=settings.BULK_MAX_ROWS)
    draft.data = b""  # the stream keeps its own copy; one is enough
    problems = source.check()
    if problems:
        BulkDraft.objects.filter(pk=draft.pk).update(
            status=BulkDraft.FAILED, file_errors=problems, finished_at=timezone.now())
        return False
    counts = {"rows_done": 0, "valid": 0, "invalid": 0, "changing": 0, "warned": 0}
    rows = iter_plan(org, source.entries(org), preload=source.rows > PRELOAD_ROWS)
    for batch in _batches(rows, BATCH):
        BulkDraftRow.objects.bulk_create([_draft_row(draft, row) for row in batch])
        for row in batch:
            counts["rows_done"] += 1
            counts["valid" if row.valid else "invalid"] += 1
            counts["changing"] += bool(row.valid and row.changed)
            counts["warned"] += bool(row.valid and row.changed and row.warnings)
        # The counters are the progress page; 0 rows updated: discarded meanwhile.
        if not BulkDraft.objects.filter(pk=draft.pk, status=BulkDraft.RUNNING).update(
                **counts):
            return False
    return bool(BulkDraft.objects.filter(pk=draft.pk, status=BulkDraft.RUNNING).update(
        status=BulkDraft.READY, finished_at=timezone.now(), **counts))


def _draft_row(draft, row: PlanRow) -> BulkDraftRow:
    if not row.valid:
        kind = BulkDraftRow.INVALID
    elif row.changed:
        kind = BulkDraftRow.CHANGE
    else:
        kind = BulkDraftRow.UNCHANGED
    return BulkDraftRow(
        draft=draft, line=row.line, kind=kind, key=row.key[:254], person=row.person,
        person_label=row.person_label[:200], errors=row.errors,
        changes=row.json_changes(), diff=row.diff, current_version=row.current_version,
        # Warnings matter only where something changes (an invalid row is not applied).
        warnings=row.warnings if row.valid and row.changed else {})


# --- reads ------------------------------------------------------------------------------------


def draft_for(user, draft_id, *, org=None) -> BulkDraft:
    """The live dry run `draft_id` of `user` (of `org` when given), without its file;
    DraftGone otherwise."""
    drafts = BulkDraft.objects.defer("data").select_related("org", "via_partner").filter(
        created_by=user, expires_at__gt=timezone.now())
    if org is not None:
        drafts = drafts.filter(org=org)
    try:
        return drafts.get(pk=int(draft_id))
    except (BulkDraft.DoesNotExist, ValueError, TypeError):
        raise DraftGone from None


ROW_FILTERS = {"": [BulkDraftRow.INVALID, BulkDraftRow.CHANGE],
               "invalid": [BulkDraftRow.INVALID], "change": [BulkDraftRow.CHANGE],
               "all": [BulkDraftRow.INVALID, BulkDraftRow.CHANGE, BulkDraftRow.UNCHANGED]}


def draft_rows(draft, *, show=""):
    """The rows of a dry run to page through: by default those that matter (invalid
    ones and changes), in file order."""
    kinds = ROW_FILTERS.get(show, ROW_FILTERS[""])
    return BulkDraftRow.objects.filter(draft=draft, kind__in=kinds).order_by("line", "id")


# --- applying ---------------------------------------------------------------------------------


class _DraftPlan:
    """A stored dry run in the shape jobs.job_create reads, row by row from the database.
    A change expects the version the dry run saw, so a person changed since the dry run
    is refused on their row (stale), never overwritten with what the file did not see."""

    def __init__(self, draft):
        self.org, self.draft = draft.org, draft

    @property
    def rows(self):
        stored = (BulkDraftRow.objects.filter(draft=self.draft).select_related("person")
                  .order_by("line", "id"))
        for row in stored.iterator(chunk_size=BATCH):
            if row.person is not None:
                row.person.org = self.org
            yield PlanRow(line=row.line, key=row.key, person=row.person, errors=row.errors,
                          changed=row.changes if row.kind == BulkDraftRow.CHANGE else {},
                          expected_version=row.current_version,
                          current_version=row.current_version)


def draft_apply(*, draft_id, user, org, actor, confirm_loops: bool = False) -> BulkJob:
    """The bulk job of a ready dry run of `user`; the dry run is used up. DraftGone when
    it is not there, not theirs, not ready or expired; LoopsNotConfirmed when its rows
    warned of conditional loops and `confirm_loops` is not given (the job then applies
    those rows as confirmed, as the person page does once its box is ticked)."""
    with transaction.atomic():
        draft = (BulkDraft.objects.select_for_update(of=("self",)).defer("data")
                 .select_related("org")
                 .filter(created_by=user, org=org, status=BulkDraft.READY,
                         expires_at__gt=timezone.now())
                 .filter(pk=draft_id).first()) if str(draft_id).isdigit() else None
        if draft is None:
            raise DraftGone
        if draft.warned and not confirm_loops:
            raise LoopsNotConfirmed(draft.warned)
        job = jobs.job_create(org=org, plan=_DraftPlan(draft), actor=actor,
                              kind=BulkJob.IMPORT, description=f"Import of {draft.filename}",
                              filename=draft.filename)
        draft.delete()
    return job


def plan_without_draft(org, data) -> Plan:
    """The plan of a file made into a job at once, without a stored dry run (the API's
    dry_run=false). Checked within the request, so only up to BULK_INLINE_DRY_RUN_ROWS
    rows; a bigger file goes through a dry run, which a worker checks."""
    source = CsvFile(data, max_rows=settings.BULK_MAX_ROWS)
    problems = source.check()
    limit = settings.BULK_INLINE_DRY_RUN_ROWS
    if not problems and source.rows > limit:
        problems = [f"A file of more than {limit:,} rows is checked by a worker: send it as "
                    "a dry run first, then apply that dry run (POST "
                    "/api/v1/bulk-drafts/{id}/apply/)."]
    if problems:
        return Plan(org=org, rows=[], file_errors=problems)
    return Plan(org=org, rows=list(iter_plan(org, source.entries(org),
                                             preload=source.rows > PRELOAD_ROWS)))
