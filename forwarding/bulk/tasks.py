"""Celery tasks of bulk work (bulk queue only). Queued by name (jobs.APPLY_TASK,
drafts.DRY_RUN_TASK)."""

from celery import shared_task
from django.conf import settings

from forwarding.bulk import drafts, jobs


@shared_task(name=jobs.APPLY_TASK, ignore_result=True,
             soft_time_limit=settings.BULK_APPLY_TIME_LIMIT,
             time_limit=settings.BULK_APPLY_KILL_AFTER)
def bulk_apply(job_id, row_ids):
    # Rows already applied are skipped, so a redelivered chunk is harmless; a chunk that
    # runs long hands its rest to a new task instead of being killed.
    jobs.apply_rows(job_id=job_id, row_ids=row_ids)


@shared_task(name=drafts.DRY_RUN_TASK, ignore_result=True,
             soft_time_limit=settings.BULK_DRY_RUN_TIME_LIMIT,
             time_limit=settings.BULK_DRY_RUN_TIME_LIMIT + 30)
def bulk_dry_run(draft_id):
    # A file at BULK_MAX_ROWS takes about a minute, longer than the default limits sized
    # for pushes; a redelivered message starts the dry run over.
    drafts.draft_run(draft_id)


@shared_task(name="forwarding.resume_stalled_jobs", ignore_result=True)
def resume_stalled_jobs():
    jobs.resume_stalled()
