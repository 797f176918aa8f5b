"""Django admin follows the portal's rules: staff need TOTP, memberships, delegations,
people and invitations are read-only there, and organization edits are validated and
audited like every other write."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent, Delegation, Membership, Organization
from tests.cast import enable_totp, make_org, make_person, make_user

pytestmark = pytest.mark.django_db


def _staff(mfa=True):
    user = make_user()
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    if mfa:
        enable_totp(user)
    return user


def test_staff_without_totp_is_sent_to_set_it_up(client):
    client.force_login(_staff(mfa=False))
    for path in ("/admin/", reverse("admin:portal_organization_changelist")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        response = client.get(response["Location"])
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('mfa_activate_totp')}?next=%2Fadmin%2F"
    response = client.post(reverse("admin:portal_organization_add"),
                           {"name": "Sneaky", "provider_kind": "webex"})
    assert response.status_code == 302
    assert not Organization.objects.filter(name="Sneaky").exists()


def test_staff_with_totp_reaches_django_admin(client):
    client.force_login(_staff())
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("model", ["membership", "delegation", "person", "invitation"])
def test_tenancy_rows_are_read_only_in_admin(client, model):
    org, partner = make_org(), make_org()
    member = make_user(org=org, role=Membership.MEMBER)
    objects = {
        "membership": Membership.objects.get(user=member),
        "delegation": Delegation.objects.create(customer=org, partner=partner),
        "person": make_person(org),
    }
    if model == "invitation":
        from portal import audit, services

        objects["invitation"], _token = services.invitation_create(
            org=org, email="x@example.com", role="member", actor=audit.Actor.system())
    obj = objects[model]
    client.force_login(_staff())
    change = reverse(f"admin:portal_{model}_change", args=[obj.pk])
    page = client.get(change)
    assert page.status_code == 200  # visible
    assert b'type="submit" value="Save"' not in page.content
    events = AuditEvent.objects.count()
    assert client.post(change, {"role": "admin", "org": org.pk, "user": member.pk}
                       ).status_code == 403
    assert client.get(reverse(f"admin:portal_{model}_add")).status_code == 403
    assert client.post(reverse(f"admin:portal_{model}_delete", args=[obj.pk]),
                       {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert Membership.objects.get(user=member).role == Membership.MEMBER
    assert AuditEvent.objects.count() == events


def _org_form(org, **changes):
    data = {"name": org.name, "provider_kind": org.provider_kind,
            "provider_org_id": org.provider_org_id, "base_url": org.base_url,
            "default_region": org.default_region,
            "rate_limit_per_second": org.rate_limit_per_second,
            "graph_api_version": org.graph_api_version, "time_zone": org.time_zone}
    data.update(changes)
    return data


def test_organization_edit_in_admin_is_audited(client):
    org = make_org("webex", base_url="https://webexapis.com/v1")
    old_id = org.provider_org_id
    staff = _staff()
    client.force_login(staff)
    change = reverse("admin:portal_organization_change", args=[org.pk])
    response = client.post(change, _org_form(org, rate_limit_per_second=25,
                                             provider_org_id="new-id"))
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.rate_limit_per_second, org.provider_org_id) == (25, "new-id")
    event = AuditEvent.objects.get(event="organization.updated")
    assert (event.org, event.actor) == (org, staff)
    assert event.old == {"rate_limit_per_second": 10, "provider_org_id": old_id}
    assert event.new == {"rate_limit_per_second": 25, "provider_org_id": "new-id"}
    assert "token" not in str(event.new) + str(event.old)


def test_organization_created_in_admin_is_audited(client):
    staff = _staff()
    client.force_login(staff)
    response = client.post(reverse("admin:portal_organization_add"), {
        "name": "Initech", "provider_kind": "graph", "provider_org_id": "tenant-1",
        "base_url": "https://graph.microsoft.com", "default_region": "US",
        "rate_limit_per_second": 10, "graph_api_version": "v1.0",
        "time_zone": "America/Chicago"})
    assert response.status_code == 302
    org = Organization.objects.get(name="Initech")
    event = AuditEvent.objects.get(event="organization.created")
    assert (event.org, event.actor, event.new["base_url"], event.new["time_zone"]) == (
        org, staff, "https://graph.microsoft.com", "America/Chicago")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/",
                                 "https://attacker.example/v1"])
def test_organization_base_url_outside_the_allow_list_is_a_field_error(client, url):
    org = make_org("webex", base_url="https://webexapis.com/v1")
    client.force_login(_staff())
    response = client.post(reverse("admin:portal_organization_change", args=[org.pk]),
                           _org_form(org, base_url=url))
    assert response.status_code == 200
    assert b"base_url" in response.content and b"errorlist" in response.content
    org.refresh_from_db()
    assert org.base_url == "https://webexapis.com/v1"
    assert not AuditEvent.objects.filter(event="organization.updated").exists()


def test_organizations_cannot_be_deleted_from_admin(client):
    org = make_org()
    client.force_login(_staff())
    response = client.post(reverse("admin:portal_organization_delete", args=[org.pk]),
                           {"post": "yes"})
    assert response.status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()
