"""The audit log is append-only: the model refuses updates and deletes, and on PostgreSQL
so does the database itself (triggers: row updates and deletes, and TRUNCATE), whatever
code path tries."""

import pytest
from django.db import DatabaseError, connection, transaction

from forwarding.rules import selectors
from portal.audit import Actor, record
from portal.models import AuditEvent
from portal.models.audit import AuditLogIsAppendOnly
from tests.cast import make_person, update


@pytest.fixture
def event(mia):
    update(mia, busy_enabled=True, busy_destination="2001")
    return AuditEvent.objects.get(person=mia)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize("sql", [
    "UPDATE portal_auditevent SET event = 'forged' WHERE id = %s",
    "DELETE FROM portal_auditevent WHERE id = %s",
])
def test_the_database_refuses_raw_updates_and_deletes(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.id])
    event.refresh_from_db()
    assert event.event == "forwarding.updated"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize("sql", [
    "TRUNCATE portal_auditevent",
    "TRUNCATE portal_auditevent RESTART IDENTITY CASCADE",
])
def test_the_database_refuses_truncate(event, sql):
    """TRUNCATE skips row triggers; a statement trigger refuses it (portal 0005)."""
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
class TestTheTestFlushStillEmptiesTheAuditLog:
    """pytest-django empties tables with TRUNCATE between transactional tests; the test
    flush (tests/conftest.py) lifts the trigger for itself only."""

    def test_first_writes_an_audit_row(self):
        AuditEvent.objects.create(event="test.flushed", actor_label="test")

    def test_then_the_next_one_starts_empty_and_truncate_is_refused_again(self):
        assert not AuditEvent.objects.filter(event="test.flushed").exists()
        with pytest.raises(DatabaseError, match="TRUNCATE refused"):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE portal_auditevent")


@pytest.mark.django_db
def test_the_model_refuses_saving_an_existing_row(event):
    event.event = "forged"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).event == "forwarding.updated"


@pytest.mark.django_db
def test_the_model_refuses_delete(event):
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_querysets_refuse_update_and_delete(event):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(event="forged")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).event == "forwarding.updated"


@pytest.mark.django_db
def test_the_actor_label_survives_the_actors_deletion(mia, admin_user, admin_actor):
    update(mia, actor=admin_actor, busy_enabled=True, busy_destination="2001")
    email = admin_user.email
    admin_user.delete()
    event = AuditEvent.objects.get(person=mia)
    assert event.actor_label == email
    assert event.actor_id is not None  # the id stays; no constraint, no cascade


@pytest.mark.django_db
def test_person_and_org_events_filter_by_code_and_time(org, mia):
    other = make_person(org)
    update(mia, busy_enabled=True, busy_destination="2001")
    update(other, busy_enabled=True, busy_destination="2001")
    record(event="push.succeeded", actor=Actor.system(), person=mia)
    events = list(selectors.person_events(mia))
    assert [e.event for e in events] == ["push.succeeded", "forwarding.updated"]
    assert [e.event for e in selectors.person_events(mia, event="forwarding.updated")] == [
        "forwarding.updated"]
    assert selectors.org_events(org).count() == 3
    newest = events[0].created_at
    assert selectors.org_events(org, since=newest).count() == 1
    assert selectors.org_events(org, until=newest).count() == 2
