import json
from io import StringIO

import pytest
from django.core.management import call_command

from portal.models import Delegation, Membership, Organization, Person, User

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
