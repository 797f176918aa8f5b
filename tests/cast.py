"""The shared cast of the tests: organizations of each provider kind, users of every
role, people on their lines, and the short ways to change a person's forwarding.
Fixtures (tests/conftest.py) build on these; test modules import them from here, never
from another test module or a conftest."""

import itertools

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Membership, Organization, Person, User

_seq = itertools.count(1)


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
