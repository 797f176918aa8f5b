import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from forwarding.models import MemberPermissions
from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Delegation, Membership, Organization, Person, User

pytestmark = pytest.mark.django_db


def _counts():
    return (Organization.objects.count(), Person.objects.count(), User.objects.count(),
            Membership.objects.count(), Delegation.objects.count())


def test_seed_demo_is_idempotent_and_prints_json():
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    data = json.loads(out.getvalue())
    assert sorted(o["provider_kind"] for o in data["orgs"]) == [
        "graph", "lync", "ucwa", "webex", "webex"
    ]
    roles = {u["role"] for u in data["users"]}
    assert {"member", "admin", "partner admin", "staff"} <= roles
    partner = Organization.objects.get(name="Northwind Partners")
    assert Delegation.objects.active().filter(partner=partner).count() == 2
    member = next(u for u in data["users"] if u["role"] == "member")
    assert User.objects.get(email=member["email"]).check_password(member["password"])
    assert len(data["people"]) == 20


def test_seed_demo_gives_orgs_the_zones_of_their_people():
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    zones = {o["provider_org_id"]: o["time_zone"] for o in data["orgs"]}
    assert zones["acme-webex"] == "America/New_York"
    assert zones["umbrella-lync"] == "Europe/Berlin"
    grace = Person.objects.get(provider_person_id="acme-webex-grace")
    ada = Person.objects.get(provider_person_id="acme-webex-ada")
    assert (grace.zone_name, ada.zone_name, ada.time_zone) == (
        "Europe/Berlin", "America/New_York", "")


def test_seed_demo_gives_acme_a_destination_policy():
    from forwarding.models import DestinationPolicy

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    policy = DestinationPolicy.objects.get()
    assert policy.org.name == "Acme (Webex)"
    assert policy.international_countries == ["CA", "GB"]
    assert policy.deny_patterns == ["+1876*"]


def test_seed_demo_locks_simultaneous_ring_for_acmes_members():
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    acme = Organization.objects.get(provider_org_id="acme-webex")
    assert json.loads(out.getvalue())["member_permissions"] == {
        "org": acme.name, "locked": ["simring"]}
    assert MemberPermissions.objects.get().org == acme
    # Once, however often the seed runs.
    assert AuditEvent.objects.filter(event="org.member_permissions_updated").count() == 1
    member = User.objects.get(email="member@acme.example")
    line = member.people.get()
    try:
        services.forwarding_update(person=line, changes={"simring_enabled": True,
                                                         "simring_targets": ["+13035550188"]},
                                   expected_version=services.settings_for(line).version,
                                   actor=Actor.for_user(member))
    except ValidationError as exc:
        assert exc.message_dict["simring_enabled"] == [
            f"Your admins set simultaneous ring for {acme.name}; ask Ada Admin or another "
            f"admin of {acme.name}."]
    else:
        raise AssertionError("a member of Acme changed simultaneous ring")
