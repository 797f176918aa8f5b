"""Celery task of upkeep: retention (beat, hourly, on the bulk queue)."""

from celery import shared_task
from django.conf import settings

from forwarding.upkeep import retention


@shared_task(name="forwarding.prune_old_rows", ignore_result=True)
def prune_old_rows():
    # Stops starting batches after half the soft time limit; the rest goes next run.
    retention.prune(budget_seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
