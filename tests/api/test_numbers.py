"""Numbers and empty values in API requests (the fuzzer's findings): ids beyond the
database's range, empty filters, bad page numbers. Each answers 400 naming the parameter
and changes nothing; the schema documents the bounds. Every answer is checked against the
schema by the `api` client."""

import pytest

from forwarding.models import BulkJob, ForwardingSettings
from portal.models import AuditEvent, Delegation

BIG = 23082715876841701353979904  # the fuzzer's value: 85 bits
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint: ids
INT_MAX = 2**31 - 1  # PostgreSQL integer: versions, counts
ID_MESSAGE = f"Enter an id from 1 to {BIGINT_MAX}."


def state():
    return (sorted(ForwardingSettings.objects.values_list("person_id", "version")),
            AuditEvent.objects.count(), BulkJob.objects.count(), Delegation.objects.count())


QUERY_IDS = [("/api/v1/people/", "org"), ("/api/v1/bulk-jobs/", "org"),
             ("/api/v1/audit-events/", "person"), ("/api/v1/audit-events/", "actor"),
             ("/api/v1/audit-events/", "org")]


@pytest.mark.django_db
class TestIdsInQueries:
    @pytest.mark.parametrize(("path", "name"), QUERY_IDS)
    @pytest.mark.parametrize("value", [BIG, BIGINT_MAX + 1, -(2**63) - 1, 0, -3, "", "1e3",
                                       "x" * 2000])
    def test_out_of_range_or_not_an_id_answers_400_naming_it(
            self, api, roles, no_huge_ints_reach_the_database, path, name, value):
        response = api(roles.admin).get(path, {name: value})
        assert response.status_code == 400
        assert response.json() == {"detail": "Some query parameters are not valid.",
                                   "errors": {name: [ID_MESSAGE]}}

    @pytest.mark.parametrize(("path", "name"), QUERY_IDS)
    def test_the_largest_id_is_a_valid_filter(self, api, roles,
                                              no_huge_ints_reach_the_database, path, name):
        response = api(roles.admin).get(path, {name: BIGINT_MAX})
        assert response.status_code == 200
        assert response.json()["count"] == 0

    def test_the_schema_documents_the_bounds(self, openapi):
        for path, name in QUERY_IDS:
            operation = openapi.document["paths"][path]["get"]
            (param,) = [p for p in operation["parameters"] if p["name"] == name]
            assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (1, BIGINT_MAX)
            assert "400" in operation["responses"]


@pytest.mark.django_db
class TestIdsInBodies:
    @pytest.mark.parametrize("value", [BIG, BIGINT_MAX + 1, 0, True, 1.5])
    def test_bulk_edit_refuses_a_person_id_out_of_range(
            self, api, roles, no_huge_ints_reach_the_database, value):
        before = state()
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.bob.id, value], "feature": "busy", "action": "off",
             "dry_run": False}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"people-1": [ID_MESSAGE]}
        assert state() == before

    def test_bulk_edit_still_takes_real_ids(self, api, roles, no_huge_ints_reach_the_database):
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.bob.id, BIGINT_MAX], "feature": "busy", "action": "off",
             "dry_run": True}, format="json")
        assert response.status_code == 200
        assert [row["valid"] for row in response.json()["rows"]] == [True, False]

    def test_a_delegation_refuses_an_org_id_out_of_range(
            self, api, roles, no_huge_ints_reach_the_database):
        # The partner is named by its partner code (a string), the customer by its id.
        before = state()
        body = {"customer": BIG, "partner_code": roles.lonely_partner_org.partner_code}
        response = api(roles.admin).post("/api/v1/delegations/", body, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"customer": [ID_MESSAGE]}
        assert state() == before

    def test_a_version_out_of_range_answers_400(self, api, roles,
                                                no_huge_ints_reach_the_database):
        before = state()
        client = api(roles.admin)
        url = f"/api/v1/people/{roles.bob.id}/forwarding/"
        response = client.patch(url, {"version": BIG, "busy_enabled": True,
                                      "busy_destination": "2001"}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {
            "version": [f"Enter a version from 0 to {INT_MAX}."]}
        response = client.patch(url, {"busy_enabled": False}, format="json",
                                HTTP_IF_MATCH=f'"{INT_MAX + 1}"')
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["If-Match"]
        assert state() == before

    def test_the_schema_documents_the_body_bounds(self, openapi):
        schemas = openapi.document["components"]["schemas"]
        items = schemas["BulkEdit"]["properties"]["people"]["items"]
        assert (items["minimum"], items["maximum"]) == (1, BIGINT_MAX)
        assert schemas["DelegationGrant"]["properties"]["customer"]["maximum"] == BIGINT_MAX
        version = schemas["Forwarding"]["properties"]["version"]
        assert (version["minimum"], version["maximum"]) == (0, INT_MAX)


@pytest.mark.django_db
class TestEmptyAndBadFilters:
    @pytest.mark.parametrize(("path", "name"), [
        ("/api/v1/audit-events/", "until"), ("/api/v1/audit-events/", "since"),
        ("/api/v1/people/", "sync_status"), ("/api/v1/delegations/", "role"),
        ("/api/v1/delegations/", "active"), ("/api/v1/people/", "org")])
    def test_an_empty_value_is_refused_not_ignored(self, api, roles, path, name):
        response = api(roles.admin).get(path, {name: ""})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [name]

    def test_an_empty_search_is_still_no_search(self, api, roles):
        response = api(roles.admin).get("/api/v1/people/", {"q": ""})
        assert response.status_code == 200 and response.json()["count"] == 2

    def test_the_schema_says_until_is_a_date_time(self, openapi):
        operation = openapi.document["paths"]["/api/v1/audit-events/"]["get"]
        (until,) = [p for p in operation["parameters"] if p["name"] == "until"]
        assert until["schema"] == {"type": "string", "format": "date-time"}
        assert not until.get("allowEmptyValue")

    @pytest.mark.parametrize(("name", "value"), [
        ("page", "0"), ("page", "abc"), ("page", str(BIG)), ("page", "last"),
        ("page_size", "0"), ("page_size", "-1"), ("page_size", "many"), ("page_size", "")])
    def test_a_bad_page_or_page_size_answers_400(self, api, roles, name, value):
        response = api(roles.admin).get("/api/v1/people/", {name: value})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [name]

    def test_past_the_last_page_is_404_and_a_huge_page_size_is_capped(self, api, roles):
        client = api(roles.admin)
        assert client.get("/api/v1/people/", {"page": 3}).status_code == 404
        response = client.get("/api/v1/people/", {"page_size": BIGINT_MAX})
        assert response.status_code == 200 and response.json()["count"] == 2

    def test_the_schema_documents_the_page_bounds(self, openapi):
        operation = openapi.document["paths"]["/api/v1/people/"]["get"]
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert params["page"]["minimum"] == params["page_size"]["minimum"] == 1
        assert params["page"]["maximum"] == params["page_size"]["maximum"] == BIGINT_MAX


@pytest.mark.django_db
class TestJsonTypes:
    """In a JSON body a value has the type the schema says, or the request is refused
    before anything else is looked at (the fuzzer's `"window_enabled": 0` got past DRF's
    BooleanField, and `"window_destination": 0` past its CharField)."""

    @pytest.mark.parametrize(("name", "value"), [
        ("window_enabled", 0), ("busy_voicemail", "yes"), ("window_destination", 0),
        ("busy_destination", 1.5), ("no_answer_ring_after", "5"), ("simring_timeout", True),
        ("no_answer_ring_after", INT_MAX + 1)])
    def test_a_wrong_type_is_refused_with_a_stale_version_too(self, api, roles, name, value):
        before = state()
        client = api(roles.admin)
        url = f"/api/v1/people/{roles.bob.id}/forwarding/"
        for headers in ({}, {"HTTP_IF_MATCH": '"0"'}):
            response = client.patch(url, {"version": 0, name: value}, format="json",
                                    **headers)
            assert response.status_code == 400, headers
            assert list(response.json()["errors"]) == [name]
        assert state() == before

    def test_a_caller_rule_with_a_wrong_type_is_refused(self, api, roles):
        response = api(roles.admin).patch(
            f"/api/v1/people/{roles.bob.id}/forwarding/",
            {"version": 1, "caller_rules": [{"callers": [5], "disposition": 0,
                                             "mask_caller": "on"}]}, format="json")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {
            "caller_rules-0-callers-0", "caller_rules-0-disposition", "caller_rules-0-mask_caller"}

    def test_bulk_edit_wants_a_json_boolean_for_dry_run(self, api, roles):
        before = state()
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.bob.id], "feature": "busy", "action": "off", "dry_run": "false"},
            format="json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["dry_run"]
        assert state() == before

    def test_a_form_body_still_says_true_in_words(self, api, roles):
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.bob.id], "feature": "busy", "action": "off", "dry_run": "true"},
            format="multipart")
        assert response.status_code == 200
        assert response.json()["total"] == 1
