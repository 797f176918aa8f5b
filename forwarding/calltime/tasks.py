"""Celery tasks of the call bot. Queued by name (bot.REDIRECT_TASK)."""

from celery import shared_task

from forwarding.calltime import bot, recovery


@shared_task(name=bot.REDIRECT_TASK, ignore_result=True)
def redirect_call(record_id, attempt=1):
    # Runs on the `calls` queue only: Graph drops the call 15 s after notifying us, so it
    # must never wait behind pushes. A retry is re-enqueued by the service, not slept.
    bot.handle_incoming(record_id, attempt=attempt)


@shared_task(name="forwarding.recover_calls", ignore_result=True)
def recover_calls():
    # Beat, every 2 s, on the `calls` queue: a call whose redirect thread died with its
    # web process is queued again while Graph's deadline still leaves time.
    recovery.recover_calls()
