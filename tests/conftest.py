"""Shared fixtures: organisations of each provider kind, people, users of every role."""

import itertools

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from portal.models import Delegation, Membership, Organization, Person, User

_seq = itertools.count(1)


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
    from forwarding.calltime import threads, webhook_orgs

    webhook_orgs.forget_webhook_org()
    yield
    threads.shutdown_all()
    webhook_orgs.forget_webhook_org()


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


def make_org(kind="webex", name=None, **kwargs):
    n = next(_seq)
    defaults = {
        "name": name or f"{kind.title()} Org {n}",
        "provider_kind": kind,
        "provider_org_id": f"{kind}-org-{n}",
        "base_url": "http://127.0.0.1:8025",
        "credentials": {"token": f"token-{kind}-{n}"},
        "default_region": "US",
    }
    defaults.update(kwargs)
    return Organization.objects.create(**defaults)


def make_user(email=None, *, org=None, role=None, mfa=False, password="correct horse 9"):
    n = next(_seq)
    email = email or f"user{n}@example.com"
    user = User.objects.create_user(username=email, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if org is not None and role is not None:
        Membership.objects.create(user=user, org=org, role=role)
    if mfa:
        enable_totp(user)
    return user


def enable_totp(user):
    # The secret is not used by these tests; the presence of a TOTP authenticator is what
    # allauth's is_mfa_enabled() checks.
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )


def make_person(org, *, user=None, name=None, number=None, **kwargs):
    n = next(_seq)
    defaults = {
        "display_name": name or f"Person {n}",
        "email": f"person{n}@example.com",
        "phone_number": number or f"+1202555{n:04d}",
        "extension": "",
        "provider_person_id": f"{org.provider_kind}-person-{n}",
        "user": user,
    }
    defaults.update(kwargs)
    return Person.objects.create(org=org, **defaults)


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
