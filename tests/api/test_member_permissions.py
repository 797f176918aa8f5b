"""What members may change themselves, through the API: GET/PUT
/api/v1/organizations/{id}/member-permissions/ (admins and partners acting for the org,
TOTP to change, audited) and a member's PATCH of a locked feature refused with the JSON
error keyed by field, changing nothing."""

import pytest

from forwarding.models import ForwardingSettings, MemberPermissions
from forwarding.rules import permissions
from portal.audit import Actor
from portal.models import AuditEvent
from tests.cast import audit_count, update

from .conftest import user_of
from .test_forwarding import url, version_of


def perms_url(org):
    return f"/api/v1/organizations/{org.id}/member-permissions/"


@pytest.fixture
def named(roles):
    roles.admin.first_name, roles.admin.last_name = "Ada", "Admin"
    roles.admin.save(update_fields=["first_name", "last_name"])
    return roles


@pytest.mark.django_db
class TestPermissionsEndpoint:
    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 200),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_who_may_read(self, api, roles, role, status):
        response = api(user_of(roles, role)).get(perms_url(roles.org))
        assert response.status_code == status
        if status == 200:
            assert response.json() == {
                "locked": [], "updated_at": None, "updated_by": "",
                "allowed": ["always", "busy", "no_answer", "continuity", "simring",
                            "caller_rules", "time_window", "schedules", "dnd"]}

    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 403),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_who_may_change(self, api, roles, role, status):
        response = api(user_of(roles, role)).put(perms_url(roles.org),
                                                 {"locked": ["simring", "busy"]},
                                                 format="json")
        assert response.status_code == status
        row = MemberPermissions.objects.filter(org=roles.org).first()
        if status == 200:
            body = response.json()
            assert body["locked"] == ["busy", "simring"] and "busy" not in body["allowed"]
            assert row.locked == ["busy", "simring"]
            event = AuditEvent.objects.get(event="org.member_permissions_updated")
            assert event.new == {"locked": ["busy", "simring"]}
            assert (event.via_partner == roles.partner_org) == (role == "partner")
        else:
            assert row is None and audit_count() == 0

    @pytest.mark.parametrize("body, key", [
        ({"locked": ["teleport"]}, "locked-0"), ({"locked": "busy"}, "locked"),
        ({}, "locked"), (["busy"], "non_field_errors")])
    def test_bad_bodies_are_refused_by_field(self, api, roles, body, key):
        response = api(roles.admin).put(perms_url(roles.org), body, format="json")
        assert response.status_code == 400
        assert key in response.json()["errors"]
        assert not MemberPermissions.objects.exists() and audit_count() == 0


@pytest.mark.django_db
class TestMembersPatch:
    def test_a_locked_feature_is_refused_keyed_by_field(self, api, named):
        roles = named
        permissions.member_permissions_update(org=roles.org, locked=["busy"],
                                              actor=Actor.for_user(roles.admin))
        events = audit_count()
        response = api(roles.member).patch(url(roles.mia), {
            "version": version_of(roles.mia), "busy_enabled": True,
            "busy_destination": "2009", "dnd_enabled": True}, format="json")
        assert response.status_code == 400
        sentence = ("Your admins set call forwarding when busy for Acme; ask Ada Admin or "
                    "another admin of Acme.")
        assert response.json() == {"detail": "Some values are not valid; see errors.",
                                   "errors": {"busy_enabled": [sentence],
                                              "busy_destination": [sentence]}}
        assert version_of(roles.mia) == 1 and audit_count() == events
        assert not ForwardingSettings.objects.filter(person=roles.mia,
                                                     dnd_enabled=True).exists()

    def test_locked_values_sent_back_unchanged_are_accepted(self, api, named):
        roles = named
        update(roles.mia, actor=Actor.for_user(roles.admin), busy_enabled=True,
               busy_destination="2009")
        permissions.member_permissions_update(org=roles.org, locked=["busy"],
                                              actor=Actor.for_user(roles.admin))
        client = api(roles.member)
        body = client.get(url(roles.mia)).json()
        body["dnd_enabled"] = True
        response = client.put(url(roles.mia), body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["dnd_enabled"] is True
        assert response.json()["busy_destination"] == "2009"

    def test_the_admin_patches_a_members_locked_feature(self, api, named):
        roles = named
        permissions.member_permissions_update(org=roles.org, locked=["busy"],
                                              actor=Actor.for_user(roles.admin))
        response = api(roles.admin).patch(url(roles.mia), {
            "version": version_of(roles.mia), "busy_enabled": True,
            "busy_destination": "2009"}, format="json")
        assert response.status_code == 200 and response.json()["busy_enabled"] is True
