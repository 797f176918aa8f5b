"""Shared fixtures: organisations of each provider kind, people, users of every role."""

import pytest

from portal.audit import Actor
from portal.models import Delegation, Membership
from tests.cast import make_org, make_person, make_user


@pytest.fixture(scope="session", autouse=True)
def _flush_may_empty_the_audit_log():
    """Between transactional tests pytest-django empties every table with TRUNCATE, which
    the audit table refuses (portal migration 0005). The test flush, and only it, turns
    that trigger off for its own transaction; a real `manage.py flush` is still refused."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    table, trigger = "portal_auditevent", "portal_auditevent_no_truncate"

    def sql_flush(self, style, tables, **kwargs):
        sql = original(self, style, tables, **kwargs)
        if table not in tables or not sql:
            return sql
        return [f"ALTER TABLE {table} DISABLE TRIGGER {trigger}", *sql,
                f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _call_bot_state():
    """Each test starts with no cached webhook orgs, and ends with the redirect threads it
    started finished and their database connections closed."""
    from forwarding.calltime import directory_cache, threads, webhook_orgs

    webhook_orgs.forget_webhook_org()
    directory_cache.forget()
    yield
    threads.shutdown_all()
    webhook_orgs.forget_webhook_org()
    directory_cache.forget()


@pytest.fixture
def no_huge_ints_reach_the_database():
    """Fail the way SQLite (the database of `make run`) fails when an int beyond 64 bits
    reaches a query: OverflowError, a 500. PostgreSQL quietly compares such a number, so
    without this the suite would not see what the demo site's users saw."""
    from django.db import connection

    def guard(execute, sql, params, many, context):
        for value in ([p for row in params for p in row] if many else params or ()):
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


@pytest.fixture
def org(db):
    return make_org("webex")


@pytest.fixture
def other_org(db):
    return make_org("webex")


@pytest.fixture
def partner_org(db):
    return make_org("webex", name="Partner Co")


@pytest.fixture
def member(org):
    user = make_user(org=org, role=Membership.MEMBER)
    make_person(org, user=user, name="Mia Member")
    return user


@pytest.fixture
def admin_user(org):
    return make_user(org=org, role=Membership.ADMIN, mfa=True)


@pytest.fixture
def partner_admin(partner_org):
    return make_user(org=partner_org, role=Membership.ADMIN, mfa=True)


@pytest.fixture
def delegation(org, partner_org):
    return Delegation.objects.create(customer=org, partner=partner_org)


@pytest.fixture
def graph_org(db):
    # Beta: targetDisposition and maskCaller/maskCallee exist only there.
    return make_org("graph", graph_api_version="beta")


@pytest.fixture
def ucwa_org(db):
    return make_org("ucwa")


@pytest.fixture
def lync_org(db):
    return make_org("lync")


@pytest.fixture
def mia(member):
    """The member fixture's person (Mia Member, a Webex line)."""
    return member.people.get()


@pytest.fixture
def owner_actor(member):
    return Actor.for_user(member, ip="192.0.2.10")


@pytest.fixture
def admin_actor(admin_user):
    return Actor.for_user(admin_user, ip="192.0.2.20")
