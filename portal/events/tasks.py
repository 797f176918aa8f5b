"""Thin Celery tasks of outgoing events: deliver one, and beat's sweeper."""

from celery import shared_task

from portal.events import delivery, outbox


@shared_task(name=outbox.DELIVER_TASK, ignore_result=True)
def deliver_event(delivery_id):
    return delivery.attempt(delivery_id)


@shared_task(name="portal.sweep_events", ignore_result=True)
def sweep_events():
    return delivery.sweep()
