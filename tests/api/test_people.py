"""GET /api/v1/people/ and /people/{id}/: the same visibility as the pages for every role,
search and filters, pagination, and a constant number of queries per page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import people_lists
from portal.models import Person
from tests.cast import make_person, update

from .conftest import ROLES, user_of

# Role -> the names the people list shows them (page 1, by name).
VISIBLE = {
    "member": ["Mia Member"],
    "admin": ["Bob Builder", "Mia Member"],
    "admin_no_mfa": ["Bob Builder", "Mia Member"],
    "stranger": ["Zed Other"],
    "partner": ["Bob Builder", "Mia Member"],
    "lonely_partner": [],
}


def names(response):
    return [p["display_name"] for p in response.json()["results"]]


@pytest.mark.django_db
class TestList:
    @pytest.mark.parametrize("role", ROLES)
    def test_each_role_sees_exactly_what_the_pages_show(self, api, roles, role):
        response = api(user_of(roles, role)).get("/api/v1/people/")
        if role == "anonymous":
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == "Token"
            assert response.json() == {
                "detail": "Authentication credentials were not provided."}
            return
        assert response.status_code == 200
        assert names(response) == VISIBLE[role]

    def test_a_partner_sees_on_whose_behalf_it_acts(self, api, roles):
        rows = api(roles.partner).get("/api/v1/people/").json()["results"]
        assert {r["via_partner"]["name"] for r in rows} == {"Partner Co"}
        assert {r["acting_for"]["name"] for r in rows} == {"Acme"}

    def test_an_own_admin_acts_for_nobody_else(self, api, roles):
        rows = api(roles.admin).get("/api/v1/people/").json()["results"]
        assert all(r["via_partner"] is None and r["acting_for"] is None for r in rows)

    def test_revoking_the_delegation_cuts_the_partner_off_at_once(self, api, roles):
        client = api(roles.partner)
        assert len(names(client.get("/api/v1/people/"))) == 2
        roles.delegation.revoked_at = roles.delegation.granted_at
        roles.delegation.save()
        assert names(client.get("/api/v1/people/")) == []

    def test_a_row_says_what_is_on_and_the_sync_state(self, api, roles):
        update(roles.mia, busy_enabled=True, busy_destination="+1 202 555 0177")
        row = api(roles.admin).get("/api/v1/people/", {"q": "Mia"}).json()["results"][0]
        assert row["summary"] == "When busy to +1 202 555 0177"
        assert row["sync"]["status"] == "pending" and row["sync"]["behind"] is True
        assert row["sync"]["version"] == 2 and row["sync"]["synced_version"] == 1
        assert row["org"] == {"id": roles.org.id, "name": "Acme"}
        assert row["provider_kind"] == "webex" and row["is_self"] is False
        bob = api(roles.admin).get("/api/v1/people/", {"q": "Bob"}).json()["results"][0]
        assert bob["sync"]["status"] == "none"

    def test_search_matches_the_people_page(self, api, roles):
        make_person(roles.org, name="Carla Caller", email="carla@acme.example",
                    number="+13035550177", extension="4711", sip_uri="sip:carla@acme.example")
        client = api(roles.admin)
        for query in ["carla", "ACME.EXAMPLE", "303 555", "4711", "sip:carla@", "Mia",
                      "nobody", "55"]:
            got = names(client.get("/api/v1/people/", {"q": query}))
            page = [p.display_name for p in people_lists.people_list(roles.org, query=query)]
            assert got == page, query

    def test_filter_by_org(self, api, roles):
        make_person(roles.partner_org, name="Pat Partner")
        client = api(roles.partner)
        assert names(client.get("/api/v1/people/")) == ["Bob Builder", "Mia Member",
                                                        "Pat Partner"]
        assert names(client.get("/api/v1/people/", {"org": roles.partner_org.id})) == [
            "Pat Partner"]
        # An org the caller may not see gives nothing, not somebody else's people.
        assert names(client.get("/api/v1/people/", {"org": roles.other_org.id})) == []

    def test_filter_by_sync_state(self, api, roles):
        update(roles.mia, busy_enabled=True, busy_destination="2001")
        update(roles.bob, busy_enabled=True, busy_destination="2002")
        ForwardingSettings.objects.filter(person=roles.bob).update(
            sync_status=SyncStatus.FAILED)
        client = api(roles.admin)
        assert names(client.get("/api/v1/people/", {"sync_status": "failed"})) == [
            "Bob Builder"]
        assert names(client.get("/api/v1/people/", {"sync_status": "behind"})) == [
            "Mia Member"]
        assert names(client.get("/api/v1/people/", {"sync_status": "synced"})) == []

    def test_bad_filters_are_400_with_the_field(self, api, roles):
        response = api(roles.admin).get("/api/v1/people/",
                                        {"sync_status": "sideways", "org": "x"})
        assert response.status_code == 400
        body = response.json()
        assert set(body["errors"]) == {"sync_status", "org"}
        assert body["detail"] == "Some query parameters are not valid."

    def test_pagination(self, api, roles):
        Person.objects.bulk_create([
            Person(org=roles.org, display_name=f"P{n:03d}", provider_person_id=f"p{n}")
            for n in range(120)])
        client = api(roles.admin)
        first = client.get("/api/v1/people/").json()
        assert first["count"] == 122 and len(first["results"]) == 50
        assert first["next"].endswith("page=2")
        small = client.get("/api/v1/people/", {"page_size": 7, "page": 3}).json()
        assert [p["display_name"] for p in small["results"]] == [
            f"P{n:03d}" for n in range(12, 19)]  # after Bob and Mia
        assert len(client.get("/api/v1/people/", {"page_size": 1000}).json()["results"]) == 122

    def test_a_constant_number_of_queries_whatever_the_page_size(self, api, roles):
        client = api(roles.partner)
        client.get("/api/v1/people/")  # warm up (content types, session)

        def queries(page_size):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/v1/people/", {"page_size": page_size})
            assert response.status_code == 200
            return len(ctx.captured_queries), len(response.json()["results"])

        people = [make_person(roles.org) for _ in range(30)]
        for person in people[:10]:
            update(person, busy_enabled=True, busy_destination="2001")
        small = queries(2)
        large = queries(200)
        assert small[1] == 2 and large[1] == 32
        assert small[0] == large[0], (small, large)
        # session, user, the access rules (visible_people, then who acts through whom),
        # count, the page with org and settings joined.
        assert large[0] <= 10


@pytest.mark.django_db
class TestDetail:
    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 200),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_someone_elses_line(self, api, roles, role, status):
        response = api(user_of(roles, role)).get(f"/api/v1/people/{roles.bob.id}/")
        assert response.status_code == status
        if status == 200:
            body = response.json()
            assert body["display_name"] == "Bob Builder"
            assert (body["via_partner"] is not None) == (role == "partner")
        if status == 404:
            assert response.json() == {"detail": "No such person"}

    def test_a_member_sees_their_own_line(self, api, roles):
        body = api(roles.member).get(f"/api/v1/people/{roles.mia.id}/").json()
        assert body["is_self"] is True and body["via_partner"] is None

    def test_an_unknown_id_is_404(self, api, roles):
        assert api(roles.admin).get("/api/v1/people/999999/").status_code == 404


def test_an_empty_search_is_no_condition():
    assert people_lists.people_search_condition("  ") is None


@pytest.mark.django_db
def test_the_list_says_whether_its_count_is_exact(api, org, admin_user):
    # Past people_lists.EXACT_COUNT_LIMIT the count is PostgreSQL's estimate (an org of
    # 200,000 people is not read to the end to say how many).
    from unittest import mock

    for n in range(8):
        make_person(org, name=f"Zed {n}")
    answer = api(admin_user).get(f"/api/v1/people/?org={org.id}").json()
    assert (answer["count"], answer["count_is_exact"]) == (8, True)
    with mock.patch.object(people_lists, "EXACT_COUNT_LIMIT", 3):
        answer = api(admin_user).get(f"/api/v1/people/?org={org.id}").json()
    assert answer["count_is_exact"] is False and answer["count"] >= 4
    assert len(answer["results"]) == 8
