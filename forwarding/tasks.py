"""Celery tasks: thin and idempotent. Each takes ids, loads rows and calls a service;
none sleeps or retries by itself (the services re-schedule)."""

from celery import shared_task
from django.conf import settings


@shared_task(name="forwarding.push_settings", ignore_result=True)
def push_settings(settings_id, slot_reserved=False, queue="interactive"):
    from forwarding import sync

    sync.push(settings_id, slot_reserved=slot_reserved, queue=queue)


@shared_task(name="forwarding.sweep", ignore_result=True)
def sweep():
    from forwarding import sync

    sync.sweep()


@shared_task(name="forwarding.tick_windows", ignore_result=True)
def tick_windows():
    from forwarding import services

    services.windows_tick()


@shared_task(name="forwarding.drift_check_all", ignore_result=True)
def drift_check_all():
    from forwarding import drift

    for settings_id in drift.due_for_check():
        drift_check.apply_async(args=[settings_id], queue="bulk")


@shared_task(name="forwarding.drift_check", ignore_result=True)
def drift_check(settings_id):
    from forwarding import drift

    drift.check(settings_id)


@shared_task(name="forwarding.redirect_call", ignore_result=True)
def redirect_call(record_id, attempt=1):
    # Runs on the `calls` queue only: Graph drops the call 15 s after notifying us, so it
    # must never wait behind pushes. A retry is re-enqueued by the service, not slept.
    from forwarding import calls

    calls.handle_incoming(record_id, attempt=attempt)


@shared_task(name="forwarding.recover_calls", ignore_result=True)
def recover_calls():
    # Beat, every 2 s, on the `calls` queue: a call whose redirect thread died with its
    # web process is queued again while Graph's deadline still leaves time.
    from forwarding import calls

    calls.recover_calls()


@shared_task(name="forwarding.bulk_apply", ignore_result=True)
def bulk_apply(job_id, row_ids):
    # Bulk queue only. Rows already applied are skipped, so a redelivered chunk is harmless;
    # a chunk that runs long hands its rest to a new task instead of being killed.
    from forwarding import bulk

    bulk.apply_rows(job_id=job_id, row_ids=row_ids)


@shared_task(name="forwarding.prune_old_rows", ignore_result=True)
def prune_old_rows():
    # Beat, hourly, on the bulk queue. Stops starting batches after half the soft time
    # limit; what is left goes in the next run.
    from django.conf import settings

    from forwarding import retention

    retention.prune(budget_seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)


@shared_task(name="forwarding.bulk_dry_run", ignore_result=True,
             soft_time_limit=settings.BULK_DRY_RUN_TIME_LIMIT,
             time_limit=settings.BULK_DRY_RUN_TIME_LIMIT + 30)
def bulk_dry_run(draft_id):
    # Bulk queue only. A file at BULK_MAX_ROWS takes about a minute, longer than the
    # default limits sized for pushes; a redelivered message starts the dry run over.
    from forwarding import bulk_drafts

    bulk_drafts.draft_run(draft_id)
