"""Tenancy: who reaches which org and person, delegation in force and revoked,
credentials encrypted at rest."""

import pytest
from django.db import connection
from django.urls import reverse

from portal import access, audit, services
from portal.models import AuditEvent, Delegation, Membership, Organization, Person
from tests.cast import make_org, make_person, make_user

pytestmark = pytest.mark.django_db


def test_member_sees_only_their_own_person(org, member):
    others = [make_person(org) for _ in range(3)]
    visible = list(access.visible_people(member))
    assert visible == [member.people.get()]
    for other in others:
        with pytest.raises(Exception) as exc:
            access.person_for(member, other.pk)
        assert exc.type.__name__ == "Http404"


def test_org_admin_sees_only_their_org(org, other_org, admin_user):
    mine = [make_person(org) for _ in range(2)]
    theirs = make_person(other_org)
    assert set(access.visible_people(admin_user)) == set(mine)
    assert list(access.manageable_orgs(admin_user)) == [org]
    with pytest.raises(Exception) as exc:
        access.person_for(admin_user, theirs.pk)
    assert exc.type.__name__ == "Http404"


def test_partner_admin_reaches_delegated_orgs_only(org, other_org, partner_org, partner_admin,
                                                   delegation):
    customer_person = make_person(org)
    stranger = make_person(other_org)
    assert set(access.manageable_orgs(partner_admin)) == {org, partner_org}
    assert access.person_for(partner_admin, customer_person.pk) == customer_person
    assert access.acting_partner(partner_admin, customer_person) == partner_org
    with pytest.raises(Exception):
        access.person_for(partner_admin, stranger.pk)


def test_revoking_a_delegation_cuts_access_at_once(client, org, partner_org, partner_admin,
                                                   delegation):
    make_person(org)
    client.force_login(partner_admin)
    url = reverse("org_people", args=[org.id])
    assert client.get(url).status_code == 200

    customer_admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    client.force_login(customer_admin)
    response = client.post(reverse("delegation_revoke", args=[org.id, delegation.id]))
    assert response.status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None

    client.force_login(partner_admin)
    assert client.get(url).status_code == 404
    assert list(access.manageable_orgs(partner_admin)) == [partner_org]
    event = AuditEvent.objects.get(event="delegation.revoked")
    assert (event.org, event.actor, event.old) == (
        org, customer_admin, {"partner": partner_org.name, "partner_id": partner_org.id}
    )


def test_grant_delegation_page_and_audit(client, org, partner_org):
    customer_admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    client.force_login(customer_admin)
    response = client.post(reverse("delegation_grant", args=[org.id]),
                           {"partner_code": partner_org.partner_code})
    assert response.status_code == 302
    assert Delegation.objects.active().filter(customer=org, partner=partner_org).count() == 1
    # A second grant to the same partner is refused next to the form, nothing written.
    response = client.post(reverse("delegation_grant", args=[org.id]),
                           {"partner_code": partner_org.partner_code})
    assert response.status_code == 400
    assert b"already has a delegation" in response.content
    assert AuditEvent.objects.filter(event="delegation.granted").count() == 1


def test_partner_cannot_delegate_a_customer_onward(client, org, partner_org, partner_admin,
                                                   delegation):
    third = make_org("webex")
    client.force_login(partner_admin)
    response = client.post(reverse("delegation_grant", args=[org.id]),
                           {"partner_code": third.partner_code})
    assert response.status_code == 403
    assert not Delegation.objects.filter(partner=third).exists()


def test_member_and_stranger_get_404_on_org_pages(client, org, member, other_org):
    stranger_admin = make_user(org=other_org, role=Membership.ADMIN, mfa=True)
    for user in (member, stranger_admin):
        client.force_login(user)
        assert client.get(reverse("org_people", args=[org.id])).status_code == 404
        assert client.get(reverse("org_settings", args=[org.id])).status_code == 404


def test_admin_without_mfa_is_sent_to_set_it_up(client, org):
    admin_no_mfa = make_user(org=org, role=Membership.ADMIN, mfa=False)
    client.force_login(admin_no_mfa)
    response = client.post(reverse("org_invite", args=[org.id]),
                           {"email": "new@example.com", "role": "member"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert not org.invitations.exists()


def test_credentials_are_encrypted_at_rest(db):
    org = make_org("webex", credentials={"token": "super-secret-bearer-token-123"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM portal_organization WHERE id = %s", [org.id])
        raw = cursor.fetchone()[0]
    assert "super-secret-bearer-token-123" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert Organization.objects.get(pk=org.pk).credentials == {
        "token": "super-secret-bearer-token-123"
    }


def test_person_lines(org):
    person = make_person(org, number="+12025550100", extension="1234", sip_uri="sip:a@b.example")
    assert person.lines() == ["+12025550100", "1234", "sip:a@b.example"]
    assert Person.objects.filter(org=org).count() == 1


def test_delegation_to_self_is_refused(org, admin_user):
    with pytest.raises(Exception) as exc:
        services.delegation_grant(customer=org, partner=org,
                                  actor=audit.Actor.for_user(admin_user))
    assert "itself" in str(exc.value)
