"""Celery tasks of the rules: time windows start and end by themselves (beat), and a
bulk job's change emails are sent a chunk at a time."""

from celery import shared_task

from forwarding.rules import emails, services


@shared_task(name="forwarding.tick_windows", ignore_result=True)
def tick_windows():
    services.windows_tick()


@shared_task(name=emails.NOTICES_TASK, ignore_result=True)
def send_change_notices(audit_ids):
    emails.send_change_notices(audit_ids)
