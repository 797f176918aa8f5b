"""Celery tasks: thin wrappers that load ids and call services (being built: issue 5)."""

from celery import shared_task


@shared_task(name="forwarding.push_settings", ignore_result=True)
def push_settings(settings_id):
    from forwarding import sync

    sync.push(settings_id)
