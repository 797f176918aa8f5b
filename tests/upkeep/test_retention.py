"""Retention: old history goes in small batches; what is still in use stays; the audit
log stays whole."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from forwarding.bulk import jobs
from forwarding.models import (
    BulkJob,
    BulkJobRow,
    CallRecord,
    ForwardingSettings,
    PushAttempt,
    SyncStatus,
)
from forwarding.rules import services
from forwarding.upkeep import retention
from portal.audit import Actor
from portal.models import AuditEvent
from tests.cast import make_person

NOW = timezone.now()
OLD = NOW - timedelta(days=91)  # past the 90-day defaults
RECENT = NOW - timedelta(days=89)


def days_ago(days):
    return NOW - timedelta(days=days)


def settings_row(org, status=SyncStatus.SYNCED):
    row = services.settings_for(make_person(org))
    ForwardingSettings.objects.filter(pk=row.pk).update(sync_status=status)
    return row


def attempt(row, started_at, outcome=PushAttempt.SUCCEEDED):
    return PushAttempt.objects.create(settings=row, version=1, started_at=started_at,
                                      finished_at=started_at, outcome=outcome)


def call(org, started_at, status=CallRecord.REDIRECTED):
    return CallRecord.objects.create(org=org, provider_call_id=f"call-{CallRecord.objects.count()}",
                                     api_version="v1.0", started_at=started_at,
                                     redirect_status=status)


def job(org, *, finished_days_ago=None, status=BulkJob.DONE, rows=3, undo_of=None):
    finished = None if finished_days_ago is None else days_ago(finished_days_ago)
    created = BulkJob.objects.create(org=org, kind=BulkJob.UNDO if undo_of else BulkJob.EDIT,
                                     status=status, created_by_label="test",
                                     correlation_id="c", finished_at=finished, undo_of=undo_of)
    BulkJobRow.objects.bulk_create(
        BulkJobRow(job=created, line=i, status=BulkJobRow.APPLIED, finished_at=finished)
        for i in range(rows))
    return created


def remaining(model, objects):
    return set(model.objects.filter(pk__in=[o.pk for o in objects]).values_list("pk", flat=True))


def pks(*objects):
    return {o.pk for o in objects}


@pytest.mark.django_db
class TestPrune:
    def test_old_push_attempts_go_except_the_latest_of_a_person_not_synced(self, org):
        synced = settings_row(org)
        synced_old = [attempt(synced, days_ago(200)), attempt(synced, OLD)]
        synced_recent = attempt(synced, RECENT)
        retrying = settings_row(org, SyncStatus.RETRYING)
        retrying_older = attempt(retrying, days_ago(120), PushAttempt.TRANSIENT)
        retrying_latest = attempt(retrying, days_ago(100), PushAttempt.TRANSIENT)
        failed = settings_row(org, SyncStatus.FAILED)
        failed_latest = attempt(failed, days_ago(300), PushAttempt.PERMANENT)
        # Same start: the higher id is the latest.
        pending = settings_row(org, SyncStatus.PENDING)
        pending_a = attempt(pending, OLD, PushAttempt.TRANSIENT)
        pending_b = attempt(pending, OLD, PushAttempt.TRANSIENT)

        deleted = retention.prune(now=NOW)

        assert deleted["PushAttempt"] == 4
        everything = [*synced_old, synced_recent, retrying_older, retrying_latest,
                      failed_latest, pending_a, pending_b]
        assert remaining(PushAttempt, everything) == pks(
            synced_recent, retrying_latest, failed_latest, pending_b)

    def test_old_settled_calls_go_unsettled_ones_stay(self, org):
        old = [call(org, OLD), call(org, days_ago(400), CallRecord.FAILED)]
        recent = call(org, RECENT)
        unsettled = [call(org, OLD, status) for status in
                     (CallRecord.PENDING, CallRecord.SENDING, CallRecord.RETRYING)]
        retention.prune(now=NOW)
        assert remaining(CallRecord, [*old, recent, *unsettled]) == pks(recent, *unsettled)

    def test_finished_jobs_past_the_period_go_with_their_rows(self, org):
        old = job(org, finished_days_ago=181, rows=5)
        recent = job(org, finished_days_ago=179)
        running = job(org, status=BulkJob.RUNNING)
        # An old job whose undo is still running keeps the rows the undo reads.
        undone = job(org, finished_days_ago=200)
        undo = job(org, status=BulkJob.RUNNING, undo_of=undone)
        # A job stopped when its creator lost access is finished too.
        stopped = job(org, finished_days_ago=181, rows=2, status=BulkJob.STOPPED)

        deleted = retention.prune(now=NOW, batch_size=2)

        assert deleted == {"PushAttempt": 0, "CallRecord": 0, "BulkJobRow": 7, "BulkJob": 2,
                           "BulkDraftRow": 0, "BulkDraft": 0, "DeliveryAttempt": 0,
                           "OutgoingEvent": 0}
        assert remaining(BulkJob, [old, recent, running, undone, undo, stopped]) == pks(
            recent, running, undone, undo)
        assert not BulkJobRow.objects.filter(job_id=old.pk).exists()
        assert BulkJobRow.objects.filter(job=undone).count() == 3

    def test_dry_runs_go_a_day_after_they_expired_with_their_rows(self, org):
        from forwarding.models import BulkDraft, BulkDraftRow
        from tests.cast import make_user

        user = make_user()

        def draft(expired_days_ago, rows):
            made = BulkDraft.objects.create(org=org, created_by=user, data=b"",
                                            expires_at=days_ago(expired_days_ago))
            BulkDraftRow.objects.bulk_create(
                BulkDraftRow(draft=made, line=i, kind="change") for i in range(rows))
            return made

        old, fresh, live = draft(2, rows=3), draft(0.5, rows=2), draft(-0.01, rows=1)

        deleted = retention.prune(now=NOW, batch_size=2)

        assert (deleted["BulkDraftRow"], deleted["BulkDraft"]) == (3, 1)
        assert remaining(BulkDraft, [old, fresh, live]) == pks(fresh, live)
        assert BulkDraftRow.objects.count() == 3

    def test_an_undo_of_a_pruned_job_loses_its_link_not_its_rows(self, org):
        old = job(org, finished_days_ago=200)
        undo = job(org, finished_days_ago=10, undo_of=old)
        retention.prune(now=NOW)
        undo.refresh_from_db()
        assert undo.undo_of_id is None and undo.rows.count() == 3

    def test_batches_are_small_and_each_is_audited(self, org):
        row = settings_row(org)
        for i in range(7):
            attempt(row, days_ago(100 + i))
        queries = []
        with connection.execute_wrapper(lambda execute, sql, *a: queries.append(sql)
                                        or execute(sql, *a)):
            deleted = retention.prune(now=NOW, batch_size=3,
                                      entries=retention.RETENTION[:1])
        assert deleted == {"PushAttempt": 7}
        deletes = [sql for sql in queries if sql.startswith("DELETE")]
        assert len(deletes) == 3  # 3 + 3 + 1, each one statement
        assert all("LIMIT 3" in sql for sql in deletes)
        events = AuditEvent.objects.filter(event="retention.pruned").order_by("id")
        assert [e.data["rows"] for e in events] == [3, 3, 1]
        assert events[0].actor_label == "retention"
        assert events[0].data["setting"] == "RETENTION_PUSH_ATTEMPTS_DAYS"
        assert events[0].data["period"] == "90 days"

    def test_zero_keeps_forever_and_settings_change_the_period(self, org, settings):
        row = settings_row(org)
        ancient = attempt(row, days_ago(3000))
        settings.RETENTION_PUSH_ATTEMPTS_DAYS = 0
        assert retention.prune(now=NOW)["PushAttempt"] == 0
        settings.RETENTION_PUSH_ATTEMPTS_DAYS = 7
        week_old = attempt(row, days_ago(8))
        assert retention.prune(now=NOW)["PushAttempt"] == 2
        assert remaining(PushAttempt, [ancient, week_old]) == set()

    def test_a_budget_stops_starting_batches(self, org):
        row = settings_row(org)
        for i in range(5):
            attempt(row, days_ago(100 + i))
        assert retention.prune(now=NOW, batch_size=2, budget_seconds=0) == {
            entry.label: 0 for entry in retention.RETENTION}
        assert PushAttempt.objects.count() == 5

    def test_the_command_runs_it_and_dry_run_only_counts(self, org):
        row = settings_row(org)
        attempt(row, OLD), attempt(row, RECENT)
        call(org, OLD)
        out = io.StringIO()
        call_command("prune_old_rows", "--dry-run", stdout=out)
        assert "PushAttempt: 1 rows past retention" in out.getvalue()
        assert "CallRecord: 1 rows past retention" in out.getvalue()
        assert PushAttempt.objects.count() == 2
        out = io.StringIO()
        call_command("prune_old_rows", "--batch-size", "1", stdout=out)
        assert "PushAttempt: 1 rows deleted" in out.getvalue()
        assert "CallRecord: 1 rows deleted" in out.getvalue()
        assert PushAttempt.objects.count() == 1 and CallRecord.objects.count() == 0

    def test_the_beat_task_prunes_and_is_scheduled(self, org, settings):
        from forwarding.upkeep import tasks

        row = settings_row(org)
        attempt(row, timezone.now() - timedelta(days=91))
        tasks.prune_old_rows.apply()
        assert PushAttempt.objects.count() == 0
        entry = settings.CELERY_BEAT_SCHEDULE["prune-old-rows"]
        assert entry["task"] == tasks.prune_old_rows.name
        assert entry["options"]["queue"] == "bulk"


@pytest.mark.django_db
def test_undo_is_refused_once_a_job_is_past_retention(org):
    old = job(org, finished_days_ago=181)
    with pytest.raises(ValidationError, match="more than 180 days ago"):
        jobs.job_undo(job=old, actor=Actor.system("test"))
    assert not BulkJob.objects.filter(undo_of=old).exists()



@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_a_transaction_holding_the_job(org):
    """An undo locks its job, then reads its rows: pruning waits for it, so the undo
    never copies half a job."""
    old = job(org, finished_days_ago=200)
    holding, release, seen, result = threading.Event(), threading.Event(), [], {}

    def undo_like():
        try:
            with transaction.atomic():
                BulkJob.objects.select_for_update().get(pk=old.pk)
                holding.set()
                release.wait(10)
                seen.append(BulkJobRow.objects.filter(job_id=old.pk).count())
        finally:
            connection.close()

    def prune():
        try:
            result.update(retention.prune(now=NOW, entries=retention.RETENTION[2:3]))
        finally:
            connection.close()

    holder = threading.Thread(target=undo_like)
    holder.start()
    assert holding.wait(10)
    pruner = threading.Thread(target=prune)
    pruner.start()
    pruner.join(1.0)
    assert pruner.is_alive(), "the batch must wait for the job's lock"
    release.set()
    holder.join(10)
    pruner.join(10)
    assert seen == [3]
    assert result == {"BulkJobRow": 3}
    assert not BulkJobRow.objects.filter(job_id=old.pk).exists()
