"""Org names do not leak: a customer delegates by the partner code its partner hands it,
never by picking from a list of every organization of the site."""

import re

import pytest
from django.urls import reverse

from portal.models import AuditEvent, Delegation, Membership
from portal.models.tenancy import canonical_partner_code
from tests.cast import make_org, make_user

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")


@pytest.fixture
def customer_admin(org):
    return make_user(org=org, role=Membership.ADMIN, mfa=True)


def test_the_settings_page_lists_no_other_organization(client, org, customer_admin):
    secret_names = [make_org(name=f"Tenant Nobody Should See {n}").name for n in range(3)]
    client.force_login(customer_admin)
    page = client.get(reverse("org_settings", args=[org.id]))
    assert page.status_code == 200
    for name in secret_names:
        assert name.encode() not in page.content
    assert b'name="partner"' not in page.content  # the old select of every org
    assert b'name="partner_code"' in page.content


def test_a_partner_sees_its_own_code_and_nobody_else_does(client, org, partner_org,
                                                           partner_admin, delegation,
                                                           customer_admin):
    client.force_login(partner_admin)
    own = client.get(reverse("org_settings", args=[partner_org.id]))
    assert partner_org.partner_code.encode() in own.content
    # Acting on the customer through the delegation: the customer's code is not shown.
    acting = client.get(reverse("org_settings", args=[org.id]))
    assert acting.status_code == 200
    assert org.partner_code.encode() not in acting.content
    client.force_login(customer_admin)
    page = client.get(reverse("org_settings", args=[org.id]))
    assert partner_org.partner_code.encode() not in page.content


def test_a_customer_delegates_by_the_code_as_typed(client, org, partner_org, customer_admin):
    client.force_login(customer_admin)
    typed = " " + partner_org.partner_code.lower().replace("-", " ") + " "
    response = client.post(reverse("delegation_grant", args=[org.id]), {"partner_code": typed})
    assert response.status_code == 302
    assert Delegation.objects.active().filter(customer=org, partner=partner_org).exists()
    event = AuditEvent.objects.get(event="delegation.granted")
    assert event.new == {"partner": partner_org.name, "partner_id": partner_org.id}


@pytest.mark.parametrize("typed", ["AAAA-AAAA-AAAA-AAAA", "not a code", "1", "'; --",
                                   "\u212a7QD-3MZA-W2PX-4HTE", ""])
def test_an_unknown_code_is_a_field_error_that_reveals_nothing(client, org, customer_admin,
                                                                typed):
    other = make_org(name="Hidden Partner Inc")
    client.force_login(customer_admin)
    response = client.post(reverse("delegation_grant", args=[org.id]), {"partner_code": typed})
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="id_partner_code_error"' in content
    if typed:
        assert "No partner has this code." in content
    assert other.name not in content
    assert not Delegation.objects.filter(customer=org).exists()
    assert not AuditEvent.objects.filter(event="delegation.granted").exists()


def test_codes_are_random_unique_and_read_back_exactly():
    orgs = [make_org() for _ in range(20)]
    codes = {o.partner_code for o in orgs}
    assert len(codes) == 20
    assert all(CODE.match(code) for code in codes)
    code = orgs[0].partner_code
    assert canonical_partner_code(code.lower()) == code
    assert canonical_partner_code(code.replace("-", "")) == code
    assert canonical_partner_code(code + "A") == ""
