"""Property (hypothesis) of the destination policy: for random policies, exceptions,
actors (the member themself or an org admin) and destinations submitted through the
services' write path, no destination that ends up stored is one the org's policy forbids
to that writer, unless an exception covers it; and every refusal names the policy."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forwarding.models import DestinationPolicy, ForwardingSettings, PolicyException
from forwarding.rules import policy, policy_checks, services
from forwarding.rules.directory import people_behind
from portal.audit import Actor
from portal.models import Membership
from tests.cast import make_org, make_person, make_user

COLLEAGUE = "+12025550999"
DESTINATIONS = [
    "+449012345678",   # UK premium rate
    "+19002345678",    # US 900
    "+4918012345",     # DE shared cost
    "+447012345678",   # UK personal number
    "+493012345678",   # Berlin
    "+4915123456789",  # German mobile
    "+33123456789",    # Paris
    "+33612345678",    # French mobile
    "+442079460000",   # London
    "+13035550100",    # Denver (national for the US org)
    "+18002345678",    # US toll free
    COLLEAGUE,         # a colleague's line: internal
    "2001",            # an extension: internal
    "sip:desk@acme.example",
    "sip:eve@elsewhere.example",
]
FEATURES = ["always", "busy", "no_answer", "continuity", "simring"]

policies = st.fixed_dictionaries({
    "allow_internal": st.booleans(), "allow_sip": st.booleans(),
    "allow_national": st.booleans(), "allow_mobile": st.booleans(),
    "allow_international": st.booleans(),
    "international_countries": st.lists(st.sampled_from(["DE", "FR", "GB"]), unique=True),
    "deny_patterns": st.lists(st.sampled_from(["+49*", "+4930*", "+33*", "+1303*"]),
                              unique=True, max_size=2),
    "allow_patterns": st.lists(st.sampled_from(["+44*", "+4915*", "+1900*", "+33*"]),
                               unique=True, max_size=2),
    "sip_domains": st.sampled_from([[], ["acme.example"]]),
    "members_outside_org": st.booleans(),
})
writes = st.lists(st.tuples(st.sampled_from(FEATURES),
                            st.lists(st.sampled_from(DESTINATIONS), min_size=1, max_size=2,
                                     unique=True)),
                  min_size=1, max_size=4)


def _stored(person):
    row = ForwardingSettings.objects.get(person=person)
    for name in ("always", "busy", "no_answer", "continuity", "window"):
        if getattr(row, f"{name}_destination"):
            yield getattr(row, f"{name}_destination")
    yield from row.simring_targets or ()


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=policies, exceptions=st.lists(st.sampled_from(["", "+44*", "+33*", "+4915*"]),
                                            unique=True, max_size=2),
       as_member=st.booleans(), changes=writes)
def test_no_stored_destination_breaks_the_policy(values, exceptions, as_member, changes):
    org = make_org("webex")
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, number="+12025550100", extension="1000")
    make_person(org, number=COLLEAGUE)
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    DestinationPolicy.objects.create(org=org, **values)
    for pattern in exceptions:
        PolicyException.objects.create(org=org, person=person, pattern=pattern)
    actor = Actor.for_user(user if as_member else admin)
    rules = policy_checks.rules_for_org(org)

    for feature, destinations in changes:
        if feature == "simring":
            change = {"simring_enabled": True, "simring_targets": destinations}
        else:
            change = {f"{feature}_enabled": True, f"{feature}_destination": destinations[0]}
        version = services.settings_for(person).version
        try:
            services.forwarding_update(person=person, changes=change,
                                       expected_version=version, actor=actor)
        except ValidationError as exc:
            # Refused: for the policy's reason or another (a loop, the own line ...).
            assert ForwardingSettings.objects.get(person=person).version == version
            assert all(m for m in exc.messages)

    stored = list(_stored(person))
    internal = set(people_behind(org, [d for d in stored if not d.isdigit()]))
    for destination in stored:
        verdict = policy.decide(rules, destination, internal=destination in internal,
                                exceptions=exceptions, member_self=as_member)
        assert verdict.allowed, (destination, verdict)
