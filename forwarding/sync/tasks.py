"""Celery tasks of the push pipeline: thin and idempotent. Each takes ids and calls a
service; none retries by itself (the services re-schedule), and only push_batch waits
(for its pushes' slots). Queued by name (outbox.PUSH_TASK, outbox.PUSH_BATCH_TASK,
drift.CHECK_TASK), so no domain module imports this one."""

from celery import shared_task

from forwarding.sync import batches, delivery, drift, outbox


@shared_task(name=outbox.PUSH_TASK, ignore_result=True)
def push_settings(settings_id, slot_reserved=False, queue="interactive", admitted=False):
    delivery.push(settings_id, slot_reserved=slot_reserved, queue=queue, admitted=admitted)


@shared_task(name=outbox.PUSH_BATCH_TASK, ignore_result=True)
def push_batch(items, slot_reserved=False, queue="bulk"):
    batches.push_batch(items, slot_reserved=slot_reserved, queue=queue)


@shared_task(name="forwarding.sweep", ignore_result=True)
def sweep():
    delivery.sweep()


@shared_task(name="forwarding.drift_check_all", ignore_result=True)
def drift_check_all():
    for settings_id in drift.due_for_check():
        drift.enqueue_check(settings_id, queue="bulk")


@shared_task(name=drift.CHECK_TASK, ignore_result=True)
def drift_check(settings_id):
    drift.check(settings_id)
