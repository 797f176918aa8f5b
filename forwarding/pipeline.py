"""Entry point of the push pipeline for services that change settings.

`request_push` is called inside the service's transaction after the new version is
saved. It marks the row pending and enqueues a push once the transaction commits. The
enqueue is only a shortcut: if Redis is down at that moment, the beat sweeper finds the
row (version > synced_version) and pushes it later, so nothing is lost.
"""

import logging

from django.db import transaction
from django.utils import timezone

from providers.capabilities import capabilities_for

from .models import ForwardingSettings, SyncStatus

log = logging.getLogger(__name__)


def is_pushed(settings: ForwardingSettings) -> bool:
    return capabilities_for(settings.person.org.provider_kind).delivery == "push"


def request_push(settings: ForwardingSettings, *, queue="interactive"):
    if not is_pushed(settings):
        # Graph and Lync take the rules at call time or from the manifest: nothing to push.
        settings.sync_status = SyncStatus.NOT_PUSHED
        settings.synced_version = settings.version
        settings.save(update_fields=["sync_status", "synced_version"])
        return
    settings.sync_status = SyncStatus.PENDING
    settings.sync_attempts = 0
    settings.next_attempt_at = timezone.now()
    settings.last_error = ""
    settings.save(update_fields=[
        "sync_status", "sync_attempts", "next_attempt_at", "last_error",
    ])
    settings_id = settings.id
    transaction.on_commit(lambda: enqueue_push(settings_id, queue=queue))


def enqueue_push(settings_id, *, queue="interactive", countdown=None):
    """Best effort: a broker failure is logged, never raised; the sweeper catches up."""
    from .tasks import push_settings

    try:
        push_settings.apply_async(args=[settings_id], queue=queue, countdown=countdown,
                                  retry=False)
    except Exception:  # the broker may be down; the change is safe in the database
        log.warning("could not enqueue push of settings %s; the sweeper will", settings_id,
                    exc_info=True)
