"""The call path's hand-written statements are prepared on the server (parsed and planned
once per connection: portal.db.backends.postgresql), and nothing else is."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.calltime import bot, storage
from forwarding.models import CallRecord
from providers import graph
from tests.calltime.graph_calls import LINE, incoming
from tests.cast import make_org, make_person

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="prepared statements are PostgreSQL's")


def prepared_texts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def org(db):
    org = make_org("graph", graph_api_version="v1.0", base_url="http://127.0.0.1:9/graph")
    make_person(org, name="Ada", number="+12025550101", provider_person_id=LINE)
    return org


def receive(org, call_id):
    [notification] = graph.parse_notifications(incoming(call_id=call_id))
    return bot._insert_record(org, notification, LINE, timezone.now())


@pytest.mark.django_db
def test_a_call_s_statements_are_prepared_once_per_connection(org):
    first = receive(org, "call-1")
    assert isinstance(first, CallRecord) and first.person.display_name == "Ada"
    storage.update_call(first.pk, expected=CallRecord.PENDING,
                        redirect_status=CallRecord.SENDING)
    assert storage.apply_follow_up(
        org_id=org.pk, call_id="call-1", state="terminated", key="terminated|deleted|",
        earlier=["incoming", "redirecting"], now=timezone.now(), ending=True, reason="",
        answer=None)
    texts = prepared_texts()  # (this connection may have run them in an earlier test)
    assert any(t.startswith("WITH r AS (INSERT INTO") for t in texts)
    assert any(t.startswith('UPDATE "forwarding_callrecord" SET "redirect_status" = $1')
               for t in texts)
    assert any("notifications = notifications ||" in t for t in texts)

    # The next call runs the same statements again: nothing new to prepare.
    second = receive(org, "call-2")
    storage.update_call(second.pk, expected=CallRecord.PENDING,
                        redirect_status=CallRecord.SENDING)
    assert prepared_texts() == texts
    assert CallRecord.objects.get(provider_call_id="call-2").redirect_status == "sending"


@pytest.mark.django_db
def test_logged_with_their_values(org):
    with CaptureQueriesContext(connection) as queries:
        receive(org, "call-logged")
    [sql] = [q["sql"] for q in queries.captured_queries]
    assert sql.startswith("WITH r AS (INSERT") and "'call-logged'" in sql


@pytest.mark.django_db
def test_orm_queries_are_not_prepared(org):
    before = prepared_texts()
    for _ in range(10):  # past psycopg's threshold for a statement it may prepare
        list(CallRecord.objects.filter(org=org))
    assert prepared_texts() == before


@pytest.mark.django_db
def test_turned_off_without_a_threshold(org, monkeypatch):
    """DATABASE_PREPARED_STATEMENTS=false (a pooler that cannot keep them): Django's
    cursor, nothing prepared."""
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")
    before = prepared_texts()
    assert isinstance(receive(org, "call-3"), CallRecord)
    assert prepared_texts() == before


@pytest.mark.django_db
def test_a_long_statement_is_converted_once_per_process(org, monkeypatch):
    """psycopg caches its %s -> $n conversion only for statements under 4 kB; the call's
    INSERT is longer and was converted again on every call."""
    from psycopg import _queries

    conversions = []
    real = _queries._query2pg_nocache

    def counted(query, encoding):
        conversions.append(query)
        return real(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_nocache", counted)
    for call_id in ("long-1", "long-2", "long-3"):
        assert isinstance(receive(org, call_id), CallRecord)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements "
                       "WHERE statement LIKE 'WITH r AS (INSERT INTO%%'")
        [insert] = [row[0] for row in cursor.fetchall()]
    assert len(insert.encode()) > _queries.MAX_CACHED_STATEMENT_LENGTH  # psycopg's limit
    assert len(conversions) <= 1
    assert CallRecord.objects.filter(provider_call_id__startswith="long-").count() == 3
