"""Celery task of the rules: time windows start and end by themselves (beat)."""

from celery import shared_task

from forwarding.rules import services


@shared_task(name="forwarding.tick_windows", ignore_result=True)
def tick_windows():
    services.windows_tick()
