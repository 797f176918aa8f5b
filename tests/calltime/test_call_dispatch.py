"""How a new call reaches a redirect: the web process's redirect threads
(forwarding.calltime.threads), the `calls` queue when they are full or off, the recovery of calls
whose thread died, and the closing of calls Graph gave up on. The whole road, with a
live server, a worker and the sandbox, is in tests/integration/test_graph_calls.py."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.calltime import bot, recovery, threads, webhook_orgs
from forwarding.models import CallRecord
from portal.models import AuditEvent
from tests.calltime.graph_calls import LINE, incoming, ok, post, receive
from tests.cast import make_org, make_person


@pytest.fixture
def org(db):
    return make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")


@pytest.fixture
def ada(org):
    return make_person(org, name="Ada", number="+12025550101", provider_person_id=LINE)


def at(record, seconds):
    return record.started_at + timedelta(seconds=seconds)


class TestThreadPool:
    def test_a_full_pool_refuses_at_once_and_frees_its_slots(self):
        pool = threads.ThreadPool("test-pool", threads=1, backlog=0)
        release, started = threading.Event(), threading.Event()

        def blocker():
            started.set()
            release.wait(5)

        try:
            assert pool.submit(blocker) is True
            assert started.wait(5)
            assert pool.submit(lambda: None) is False  # no thread, no backlog: refused
            release.set()
            done = threading.Event()
            for _ in range(50):  # the slot comes back when the first job ends
                if pool.submit(done.set):
                    break
                threading.Event().wait(0.05)
            assert done.wait(5)
        finally:
            release.set()
            pool.shutdown()

    def test_a_failing_job_is_logged_and_gives_its_slot_back(self, caplog):
        pool = threads.ThreadPool("test-fail", threads=1, backlog=0)

        def boom():
            raise RuntimeError("the database went away")

        try:
            assert pool.submit(boom)
            pool.shutdown(wait=True)
            assert "test-fail job boom failed" in caplog.text
            assert pool._slots.acquire(blocking=False)  # the slot is free again
        finally:
            pool.shutdown()

    def test_one_pool_per_process_and_size(self):
        first = threads.pool("test-shared", 2)
        assert threads.pool("test-shared", 2) is first
        resized = threads.pool("test-shared", 3)
        assert resized is not first and resized.threads == 3
        resized.shutdown()


@pytest.mark.django_db(transaction=True)
class TestDispatch:
    """Committed rows: the redirect threads use their own database connections."""

    def test_the_redirect_threads_take_a_new_call(self, client, settings, org, ada):
        settings.GRAPH_REDIRECT_THREADS = 2
        sent = threading.Event()

        def redirect(conn, request):
            sent.set()
            return ok()

        with mock.patch("providers.graph.redirect", side_effect=redirect), \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            assert post(client, org, incoming(caller="+14255550100")).status_code == 202
            assert sent.wait(10)
            for _ in range(100):
                record = CallRecord.objects.get()
                if record.redirect_status == CallRecord.REDIRECTED:
                    break
                threading.Event().wait(0.05)
        assert record.redirect_status == CallRecord.REDIRECTED
        assert (record.person, record.rule) == (ada, "none")
        assert not queued.called  # no trip through the broker
        assert AuditEvent.objects.filter(event="call.redirected").count() == 1

    def test_full_threads_send_the_call_to_the_queue(self, client, settings, org, ada):
        settings.GRAPH_REDIRECT_THREADS = 2
        with mock.patch("forwarding.calltime.threads.ThreadPool.submit", return_value=False), \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            assert post(client, org, incoming()).status_code == 202
        record = CallRecord.objects.get()
        queued.assert_called_once_with(
            "forwarding.redirect_call", args=[record.pk], queue="calls", retry=False)
        assert record.redirect_status == CallRecord.PENDING

    def test_no_threads_means_the_queue(self, client, settings, org, ada):
        settings.GRAPH_REDIRECT_THREADS = 0
        with mock.patch("forwarding.calltime.threads.pool") as pool, \
                mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            post(client, org, incoming())
        assert not pool.called and queued.call_count == 1


@pytest.mark.django_db
class TestRecovery:
    def test_a_call_still_waiting_after_two_seconds_is_queued(self, org, ada):
        record = receive(org, incoming())
        with mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            assert recovery.recover_calls(now=at(record, 1)) == {"queued": 0, "expired": 0}
            assert recovery.recover_calls(now=at(record, 3)) == {"queued": 1, "expired": 0}
        queued.assert_called_once_with(
            "forwarding.redirect_call", args=[record.pk], queue="calls", retry=False)

    def test_a_call_nobody_redirected_in_time_is_closed_as_failed(self, org, ada):
        record = receive(org, incoming())
        with mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
            assert recovery.recover_calls(now=at(record, 16)) == {"queued": 0, "expired": 1}
            assert recovery.recover_calls(now=at(record, 17)) == {"queued": 0, "expired": 0}
        assert not queued.called
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.FAILED
        assert "15-second deadline" in record.redirect_error
        event = AuditEvent.objects.get(event="call.redirect_failed")
        assert (event.person, event.data["call_id"]) == (ada, record.provider_call_id)

    def test_a_call_being_sent_gets_a_full_attempt_before_it_is_closed(self, org, ada):
        record = receive(org, incoming())
        CallRecord.objects.filter(pk=record.pk).update(redirect_status=CallRecord.SENDING,
                                                       redirect_attempts=1)
        budget = bot.DEADLINE + bot.ATTEMPT_BUDGET
        assert recovery.recover_calls(now=at(record, 16))["expired"] == 0
        assert recovery.recover_calls(
            now=record.started_at + budget + timedelta(seconds=1))["expired"] == 1
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.FAILED
        assert "outcome is unknown" in record.redirect_error

    def test_a_retry_that_never_ran_is_closed(self, org, ada):
        record = receive(org, incoming())
        CallRecord.objects.filter(pk=record.pk).update(redirect_status=CallRecord.RETRYING)
        assert recovery.recover_calls(now=at(record, 16))["expired"] == 1
        record.refresh_from_db()
        assert "retry did not run" in record.redirect_error

    def test_a_broker_outage_stops_the_run_and_starts_no_threads(self, org, ada):
        first, second = receive(org, incoming(call_id="c1")), receive(org, incoming(call_id="c2"))
        with mock.patch("forwarding.calltime.bot.current_app.send_task",
                        side_effect=OSError("broker down")) as queued, \
                mock.patch("forwarding.calltime.bot._spawn") as spawn:
            assert recovery.recover_calls(now=at(second, 3)) == {"queued": 0, "expired": 0}
        assert queued.call_count == 1 and not spawn.called  # the next run tries again
        assert first.redirect_status == CallRecord.PENDING

    def test_a_late_answer_does_not_reopen_a_closed_call(self, org, ada):
        record = receive(org, incoming())

        def slow_redirect(conn, request):
            # Graph answers after recovery gave up on the call.
            recovery.recover_calls(now=record.started_at + bot.DEADLINE
                                   + bot.ATTEMPT_BUDGET + timedelta(seconds=1))
            return ok()

        with mock.patch("providers.graph.redirect", side_effect=slow_redirect):
            bot.handle_incoming(record.pk)
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.FAILED
        assert not AuditEvent.objects.filter(event="call.redirected").exists()
        assert AuditEvent.objects.filter(event="call.redirect_failed").count() == 1

    def test_settled_calls_are_left_alone(self, org, ada):
        record = receive(org, incoming())
        with mock.patch("providers.graph.redirect", return_value=ok()):
            bot.handle_incoming(record.pk)
        assert recovery.recover_calls(now=at(record, 60)) == {"queued": 0, "expired": 0}
        record.refresh_from_db()
        assert record.redirect_status == CallRecord.REDIRECTED


@pytest.mark.django_db
class TestWebhookOrgCache:
    def test_a_changed_org_is_seen_at_once(self, client, org, ada):
        post(client, org, incoming(call_id="call-1"))
        org.graph_api_version = "beta"
        org.save()
        with mock.patch("forwarding.calltime.bot.current_app.send_task"):
            post(client, org, incoming(call_id="call-2"))
        assert CallRecord.objects.get(provider_call_id="call-2").api_version == "beta"

    def test_a_known_org_is_not_looked_up_again(self, client, org, ada):
        post(client, org, incoming(call_id="call-1"))
        with CaptureQueriesContext(connection) as queries:
            webhook_orgs.org_for_webhook(org.webhook_key)
        assert len(queries) == 0

    def test_a_deleted_org_is_forgotten(self, client, org):
        key = org.webhook_key
        assert webhook_orgs.org_for_webhook(key) is not None
        org.delete()
        assert webhook_orgs.org_for_webhook(key) is None
        assert post(client, org, incoming()).status_code == 404

    def test_a_cached_org_expires(self, org):
        webhook_orgs.org_for_webhook(org.webhook_key)
        with mock.patch("forwarding.calltime.webhook_orgs.time.monotonic",
                        return_value=timezone.now().timestamp() + 10**9):
            with CaptureQueriesContext(connection) as queries:
                assert webhook_orgs.org_for_webhook(org.webhook_key) == org
        assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_call_for_an_org_another_process_still_knows_is_ignored(client, org, caplog):
    # Another web process deleted the org; this one still has it cached for a moment.
    key = org.webhook_key
    cached = webhook_orgs.org_for_webhook(key)
    org.delete()
    webhook_orgs._webhook_orgs[key] = (float("inf"), cached)
    with mock.patch("forwarding.calltime.bot.current_app.send_task") as queued:
        assert post(client, cached, incoming()).status_code == 202
    assert not CallRecord.objects.exists() and not queued.called
    assert "for a deleted org" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_redirect_thread_drops_a_broken_connection_after_its_job():
    pool = threads.ThreadPool("test-tidy", threads=1, backlog=1)
    seen = {}

    def broken_job():
        connection.ensure_connection()
        seen["before"] = connection.connection
        connection.connection.close()  # the server went away under the idle connection
        with pytest.raises(Exception):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

    def next_job():
        seen["after"] = connection.connection

    try:
        assert pool.submit(broken_job)
        assert pool.submit(next_job)
        pool.shutdown(wait=True)
    finally:
        pool.shutdown()
    assert seen["before"] is not None and seen["after"] is None  # closed, not reused
