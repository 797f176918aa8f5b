"""Beat's task that keeps every connection's token ahead of its expiry."""

from celery import shared_task

from portal.connections import tokens


@shared_task(name="portal.renew_connections", ignore_result=True)
def renew_connections():
    return tokens.renew_due()
