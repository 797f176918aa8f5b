"""The settings row's copy of its person's name (migration 0019) stays right when the first
settings row of a person is written while the person is being renamed, in either order:
the insert's trigger reads the person FOR SHARE, so one of the two waits for the other.
Without it, the rename's UPDATE cannot see the row still being inserted, and the insert
reads the name from before the rename: the copy would keep the old name for good."""

import threading
import time

import pytest
from django.db import connection, transaction

from forwarding.models import ForwardingSettings
from portal.models import Person
from tests.cast import make_org, make_person

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the copies are kept by PostgreSQL triggers"),
]


def in_a_thread(work):
    """Run `work` on its own connection; returns (thread, errors)."""
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            from django.db import connection as own

            own.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def wait_until_blocked(thread):
    """Until another session of this database waits for a lock (the thread's statement
    waiting for ours). A deadline only against hanging: not a measure of speed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            # pg_stat_activity is read once per transaction unless told to read it again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def test_an_insert_during_a_rename_takes_the_new_name():
    person = make_person(make_org(), name="Old Name")
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(display_name="New Name")
        thread, errors = in_a_thread(
            lambda: ForwardingSettings.objects.create(person_id=person.pk))
        blocked = wait_until_blocked(thread)
    thread.join(30)
    assert not errors, errors
    assert ForwardingSettings.objects.get(person=person).person_name == "New Name"
    assert blocked, "the insert did not wait for the rename"


def test_a_rename_during_an_insert_reaches_the_new_row():
    person = make_person(make_org(), name="Old Name")
    with transaction.atomic():
        ForwardingSettings.objects.create(person_id=person.pk)
        thread, errors = in_a_thread(
            lambda: Person.objects.filter(pk=person.pk).update(display_name="New Name"))
        blocked = wait_until_blocked(thread)
    thread.join(30)
    assert not errors, errors
    assert ForwardingSettings.objects.get(person=person).person_name == "New Name"
    assert blocked, "the rename did not wait for the insert"
