"""Fixtures of the forwarding tests: orgs of every provider kind, people linked to users,
and a short way to call the update service."""

import pytest

from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Membership
from tests.conftest import make_org, make_person, make_user


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


def person_with_user(org, **kwargs):
    user = make_user(org=org, role=Membership.MEMBER)
    return make_person(org, user=user, **kwargs)


def update(person, *, actor=None, version=None, rules=None, **changes):
    """forwarding_update with the current version unless told otherwise."""
    settings = services.settings_for(person)
    return services.forwarding_update(
        person=person,
        changes=changes,
        expected_version=settings.version if version is None else version,
        actor=actor or Actor.system("test"),
        caller_rules=rules,
    )


def audit_count(person=None):
    events = AuditEvent.objects.all()
    return events.filter(person=person).count() if person is not None else events.count()
