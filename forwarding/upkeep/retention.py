"""Retention: rows that only tell history are deleted once they are older than their
setting, in small batches, so the tables stop growing and no lock is held for long.

RETENTION is the list of what is pruned: a model, the datetime field that dates a row,
the setting that says how long to keep it (0: forever) and, where some old rows must
stay, the rows to keep. Adding a table is one more entry (and a setting in
portal/settings/base.py's retention block, or in the settings module of its room, like
RETENTION_EVENTS_DAYS in portal/settings/events.py). The audit log is not in the list and
never will be: it is append-only, and the database refuses DELETE and TRUNCATE on it.

Each batch is one DELETE of at most BATCH_SIZE rows chosen by a primary-key subquery,
in its own transaction with one audit row (`retention.pruned`) that says what went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from forwarding.models import BulkJob, CallRecord, PushAttempt, SyncStatus
from portal import audit
from portal.models import DeliveryStatus

EVENT_PRUNED = audit.Event.RETENTION_PRUNED
SYSTEM = "retention"
BATCH_SIZE = 1000


def _push_attempts_to_keep():
    # A person whose push has not landed keeps its latest attempt, however old: it is
    # what an admin reads to see why ("what was sent, what came back").
    newer = PushAttempt.objects.filter(settings=OuterRef("settings")).filter(
        Q(started_at__gt=OuterRef("started_at"))
        | Q(started_at=OuterRef("started_at"), pk__gt=OuterRef("pk")))
    return Q(~Q(settings__sync_status__in=[SyncStatus.SYNCED, SyncStatus.NOT_PUSHED]),
             ~Exists(newer))


def _unsettled_calls():
    # The recovery sweep still owns these (forwarding.calltime.recovery); a call is history once its
    # redirect is settled.
    return Q(redirect_status__in=[CallRecord.PENDING, CallRecord.SENDING, CallRecord.RETRYING])


def _unfinished_jobs_rows():
    return Q(job__status__in=BulkJob.ACTIVE) | Q(job__undone_by__status__in=BulkJob.ACTIVE)


def _jobs_not_empty_or_unfinished():
    # A job goes once its rows are gone (the entry before this one removes them in
    # batches; deleting the job first would cascade to all its rows in one statement).
    return (Q(status__in=BulkJob.ACTIVE) | Q(rows__isnull=False)
            | Q(undone_by__status__in=BulkJob.ACTIVE))


_UNDELIVERED = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]


@dataclass(frozen=True)
class Retention:
    model: str  # "app_label.Model"
    field: str  # the datetime a row is dated by (may follow a relation: "job__finished_at")
    setting: str  # the name of a setting holding the retention period (0: keep forever)
    unit: str = "days"  # the setting's unit, a timedelta keyword
    keep: object = None  # callable -> Q of the rows to keep whatever their age
    # A relation to lock (SELECT ... FOR UPDATE) with the batch: a transaction holding it
    # (an undo reading a job's rows) is waited for, never seen half-deleted.
    lock: str | None = None

    @property
    def label(self) -> str:
        return self.model.split(".", 1)[1]

    def period(self) -> timedelta | None:
        value = getattr(settings, self.setting)
        return timedelta(**{self.unit: value}) if value else None

    def candidates(self, cutoff):
        model = apps.get_model(self.model)
        rows = model._base_manager.filter(**{f"{self.field}__lt": cutoff})
        if self.keep is not None:
            rows = rows.exclude(self.keep())
        return rows


RETENTION = [
    Retention("forwarding.PushAttempt", "started_at", "RETENTION_PUSH_ATTEMPTS_DAYS",
              keep=_push_attempts_to_keep),
    Retention("forwarding.CallRecord", "started_at", "RETENTION_CALL_RECORDS_DAYS",
              keep=_unsettled_calls),
    # Rows first, then the jobs left empty: undo needs a job's rows (bulk.job_undo refuses
    # a job past this period, so no undo starts on rows about to go).
    Retention("forwarding.BulkJobRow", "job__finished_at", "RETENTION_BULK_JOBS_DAYS",
              keep=_unfinished_jobs_rows, lock="job"),
    Retention("forwarding.BulkJob", "finished_at", "RETENTION_BULK_JOBS_DAYS",
              keep=_jobs_not_empty_or_unfinished),
    # Dry runs: their rows first (one statement per batch, not one cascade per draft).
    Retention("forwarding.BulkDraftRow", "draft__expires_at", "RETENTION_BULK_DRAFTS_DAYS"),
    Retention("forwarding.BulkDraft", "expires_at", "RETENTION_BULK_DRAFTS_DAYS",
              keep=lambda: Q(rows__isnull=False)),
    # Outgoing events: attempts first, then the events (with their few deliveries); an
    # event still on its way to some endpoint (a disabled one, say) is kept whole.
    Retention("portal.DeliveryAttempt", "delivery__event__created_at", "RETENTION_EVENTS_DAYS",
              keep=lambda: Q(delivery__event__deliveries__status__in=_UNDELIVERED)),
    Retention("portal.OutgoingEvent", "created_at", "RETENTION_EVENTS_DAYS",
              keep=lambda: Q(deliveries__status__in=_UNDELIVERED)),
]


def prune(*, now=None, batch_size=BATCH_SIZE, budget_seconds=None,
          entries=None) -> dict[str, int]:
    """Delete what is past its retention period, oldest tables first; returns rows deleted
    per model. With a budget, no batch starts after it is spent (the next run goes on)."""
    now = now or timezone.now()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    actor = audit.Actor.system(SYSTEM)
    deleted = {}
    for entry in RETENTION if entries is None else entries:
        period = entry.period()
        deleted[entry.label] = 0
        if period is None:
            continue
        cutoff = now - period
        while deadline is None or time.monotonic() < deadline:
            count = _prune_batch(entry, cutoff, batch_size=batch_size, actor=actor)
            deleted[entry.label] += count
            if count < batch_size:
                break
    return deleted


def due(*, now=None) -> dict[str, int]:
    """How many rows each entry would delete now (for `prune_old_rows --dry-run`)."""
    now = now or timezone.now()
    return {entry.label: entry.candidates(now - entry.period()).count()
            if entry.period() else 0 for entry in RETENTION}


def _prune_batch(entry, cutoff, *, batch_size, actor) -> int:
    with transaction.atomic():
        chosen = entry.candidates(cutoff)
        model = chosen.model
        if entry.lock:
            # Lock the parents first (waiting for whoever holds one), then delete only
            # their rows, re-reading `keep` after the wait.
            parent = model._meta.get_field(entry.lock).related_model
            parent_ids = chosen.order_by().values(entry.lock).distinct()[:batch_size]
            locked = list(parent._base_manager.filter(pk__in=Subquery(parent_ids))
                          .select_for_update().values_list("pk", flat=True))
            chosen = chosen.filter(**{f"{entry.lock}__in": locked})
        # One statement per batch: DELETE ... WHERE pk IN (SELECT pk ... LIMIT n).
        pks = chosen.order_by().values("pk")[:batch_size]
        count, _ = model._base_manager.filter(pk__in=Subquery(pks)).delete()
        if count:
            audit.record(event=EVENT_PRUNED, actor=actor, data={
                "model": entry.model, "rows": count, "older_than": cutoff.isoformat(),
                "setting": entry.setting, "period": f"{getattr(settings, entry.setting)} "
                                                    f"{entry.unit}"})
        return count
