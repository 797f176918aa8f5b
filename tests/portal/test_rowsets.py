"""portal.rowsets: many rows written in one statement whose text depends only on the model
and the fields (the rows are one JSON parameter), reading back exactly what was set."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from portal.models import AuditEvent
from portal.rowsets import _update_sql, insert_rows, update_rows
from tests.cast import make_org, make_person, make_user

pytestmark = pytest.mark.django_db


def audit_row(person, user, n):
    return AuditEvent(
        event="forwarding.updated", org=person.org, actor=user, actor_label=f"Ann «{n}»",
        ip="2001:db8::1" if n % 2 else "192.0.2.7", person=person,
        person_label=person.display_name,
        old={"version": n, "note": 'quotes " and \\ backslashes, ünïcode, 😀'},
        new={"version": n + 1, "list": [1, None, {"deep": True}]},
        data={"changed": ["always_enabled"]}, correlation_id=f"c{n}")


def test_insert_rows_writes_every_column_and_returns_ids_in_order():
    org = make_org("webex", name="Rowsets")
    user = make_user()
    people = [make_person(org, number=f"+1202555{8100 + n}") for n in range(3)]
    objs = [audit_row(people[n % 3], user, n) for n in range(7)]
    with CaptureQueriesContext(connection) as queries:
        saved = insert_rows(AuditEvent, objs)
    assert len(queries) == 1
    assert [o.pk for o in saved] == sorted(o.pk for o in saved)
    for obj in saved:
        stored = AuditEvent.objects.get(pk=obj.pk)
        for field in ("event", "org_id", "actor_id", "actor_label", "person_id",
                      "person_label", "old", "new", "data", "correlation_id"):
            assert getattr(stored, field) == getattr(obj, field), field
        assert stored.ip == obj.ip
        assert stored.created_at == obj.created_at and stored.created_at.microsecond  # auto_now_add


def test_update_rows_keeps_microseconds_lists_and_nulls_and_one_text_per_shape():
    org = make_org("webex", name="Rowsets2")
    people = [make_person(org, number=f"+1202555{8200 + n}") for n in range(5)]
    rows = [services.settings_for(p) for p in people]
    when = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    for n, row in enumerate(rows):
        row.always_enabled = bool(n % 2)
        row.always_destination = f"+1303555{n:04d}"
        row.simring_targets = [f"+1404555{n:04d}", "sip:ann@example.com"] if n else []
        row.next_attempt_at = when if n != 2 else None
    fields = ["always_enabled", "always_destination", "simring_targets", "next_attempt_at"]
    with CaptureQueriesContext(connection) as first:
        update_rows(ForwardingSettings, rows[:2], fields)
    with CaptureQueriesContext(connection) as second:
        update_rows(ForwardingSettings, rows[2:], fields)
    assert len(first) == len(second) == 1
    # The statement's text does not grow with the rows (the driver parses it once).
    assert _update_sql(ForwardingSettings, tuple(fields)).count("%s") == 1
    for row in rows:
        stored = ForwardingSettings.objects.get(pk=row.pk)
        for name in fields:
            assert getattr(stored, name) == getattr(row, name), name
