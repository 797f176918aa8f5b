"""Organizations (with their sync health) and delegations: a customer admin grants and
revokes, a partner admin lists what it may act on."""

import pytest

from forwarding.models import ForwardingSettings, SyncStatus
from portal.models import AuditEvent, Delegation
from tests.cast import make_person, update

from .conftest import ROLES, user_of


@pytest.mark.django_db
class TestOrganizations:
    # Role -> {org name: role} of the list.
    EXPECTED = {
        "member": {"Acme": "member"},
        "admin": {"Acme": "admin"},
        "admin_no_mfa": {"Acme": "admin"},
        "stranger": {"Globex": "admin"},
        "partner": {"Acme": "partner", "Partner Co": "admin"},
        "lonely_partner": {"No Delegation Co": "admin"},
    }

    @pytest.mark.parametrize("role", ROLES)
    def test_list(self, api, roles, role):
        response = api(user_of(roles, role)).get("/api/v1/organizations/")
        if role == "anonymous":
            assert response.status_code == 401
            return
        assert {o["name"]: o["role"] for o in response.json()} == self.EXPECTED[role]

    def test_health_counts_for_the_partner(self, api, roles):
        for n in range(3):
            make_person(roles.org, name=f"Extra {n}")
        update(roles.mia, busy_enabled=True, busy_destination="2001")
        update(roles.bob, busy_enabled=True, busy_destination="2002")
        ForwardingSettings.objects.filter(person=roles.bob).update(
            sync_status=SyncStatus.FAILED)
        acme = next(o for o in api(roles.partner).get("/api/v1/organizations/").json()
                    if o["name"] == "Acme")
        assert acme["people_count"] == 5 and acme["failed_count"] == 1
        assert acme["pending_count"] == 1
        assert acme["via_partner"] == {"id": roles.partner_org.id, "name": "Partner Co"}
        assert acme["provider_label"] == "Webex Calling"

    def test_a_member_gets_no_counts(self, api, roles):
        (acme,) = api(roles.member).get("/api/v1/organizations/").json()
        assert acme["people_count"] is None and acme["via_partner"] is None

    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 200), ("admin", 200), ("stranger", 404),
        ("partner", 200), ("lonely_partner", 404)])
    def test_detail(self, api, roles, role, status):
        response = api(user_of(roles, role)).get(f"/api/v1/organizations/{roles.org.id}/")
        assert response.status_code == status

    def test_org_list_costs_a_constant_number_of_queries(self, api, roles,
                                                         django_assert_max_num_queries):
        client = api(roles.partner)
        client.get("/api/v1/organizations/")
        for _ in range(20):
            update(make_person(roles.org), busy_enabled=True, busy_destination="2001")
        with django_assert_max_num_queries(8):
            client.get("/api/v1/organizations/")


@pytest.mark.django_db
class TestDelegations:
    # Role -> delegation ids (by name) visible in the list.
    @pytest.mark.parametrize("role, visible", [
        ("member", False), ("admin", True), ("admin_no_mfa", True), ("stranger", False),
        ("partner", True), ("lonely_partner", False)])
    def test_list(self, api, roles, role, visible):
        response = api(user_of(roles, role)).get("/api/v1/delegations/")
        assert response.status_code == 200
        ids = [d["id"] for d in response.json()["results"]]
        assert ids == ([roles.delegation.id] if visible else [])

    def test_a_partner_lists_what_it_may_act_on(self, api, roles):
        client = api(roles.partner)
        received = client.get("/api/v1/delegations/", {"role": "partner", "active": "true"})
        (row,) = received.json()["results"]
        assert row["customer"]["name"] == "Acme" and row["partner"]["name"] == "Partner Co"
        assert row["active"] is True
        assert client.get("/api/v1/delegations/", {"active": "false"}).json()["count"] == 0

    def test_anonymous(self, api, roles):
        assert api().get("/api/v1/delegations/").status_code == 401
        assert api().post("/api/v1/delegations/", {}, format="json").status_code == 401

    @pytest.mark.parametrize("role, status", [
        ("member", 404), ("admin", 201), ("admin_no_mfa", 403), ("stranger", 404),
        ("partner", 403), ("lonely_partner", 404)])
    def test_grant(self, api, roles, role, status):
        response = api(user_of(roles, role)).post("/api/v1/delegations/", {
            "customer": roles.org.id, "partner_code": roles.lonely_partner_org.partner_code},
            format="json")
        assert response.status_code == status, response.content
        granted = Delegation.objects.active().filter(partner=roles.lonely_partner_org)
        assert granted.exists() == (status == 201)
        if status == 201:
            assert response.json()["partner"]["name"] == "No Delegation Co"
            event = AuditEvent.objects.get(event="delegation.granted")
            assert event.actor == roles.admin and event.org == roles.org
            # The new partner may act at once.
            people = api(roles.lonely_partner).get("/api/v1/people/").json()
            assert people["count"] == 2

    def test_grant_refusals_are_400(self, api, roles):
        client = api(roles.admin)
        again = client.post("/api/v1/delegations/", {
            "customer": roles.org.id, "partner_code": roles.partner_org.partner_code},
            format="json")
        assert again.status_code == 400
        assert again.json()["errors"] == {
            "partner_code": ["Partner Co already has a delegation."]}
        itself = client.post("/api/v1/delegations/", {
            "customer": roles.org.id, "partner_code": roles.org.partner_code}, format="json")
        assert itself.json()["errors"] == {
            "partner_code": ["An organization cannot delegate to itself."]}
        # An unknown code and an org id get the same answer: no way to probe for orgs.
        for code in ("ZZZZ-ZZZZ-ZZZZ-ZZZZ", str(roles.lonely_partner_org.id), ""):
            nobody = client.post("/api/v1/delegations/", {"customer": roles.org.id,
                                                          "partner_code": code}, format="json")
            assert nobody.status_code == 400
            assert list(nobody.json()["errors"]) == ["partner_code"]
        assert not Delegation.objects.filter(partner=roles.lonely_partner_org).exists()
        missing = client.post("/api/v1/delegations/", {}, format="json")
        assert set(missing.json()["errors"]) == {"customer", "partner_code"}

    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 200),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_detail(self, api, roles, role, status):
        response = api(user_of(roles, role)).get(f"/api/v1/delegations/{roles.delegation.id}/")
        assert response.status_code == status

    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 403),
        ("stranger", 404), ("partner", 403), ("lonely_partner", 404)])
    def test_revoke(self, api, roles, role, status):
        response = api(user_of(roles, role)).post(
            f"/api/v1/delegations/{roles.delegation.id}/revoke/")
        assert response.status_code == status
        roles.delegation.refresh_from_db()
        assert (roles.delegation.revoked_at is not None) == (status == 200)
        if status == 200:
            assert response.json()["active"] is False
            assert response.json()["revoked_by"] == roles.admin.email
            assert api(roles.partner).get("/api/v1/people/").json()["count"] == 0
