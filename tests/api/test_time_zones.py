"""Time zones in the API: instants are ISO 8601 with an offset both ways (a naive one is a
400 naming the field), and `time_zone` of orgs and people is read and changed (validated,
audited, in the schema)."""

from datetime import UTC, datetime

import pytest

from forwarding.models import ForwardingSettings
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def _forwarding(api, user, person, **changes):
    client = api(user)
    version = client.get(f"/api/v1/people/{person.id}/forwarding/").json()["version"]
    return client.patch(f"/api/v1/people/{person.id}/forwarding/",
                        {"version": version, **changes}, format="json")


class TestInstants:
    @pytest.mark.parametrize("field", ["window_start", "window_end"])
    def test_a_time_without_an_offset_is_a_400_naming_the_field(self, api, roles, field):
        body = {"window_enabled": True, "window_destination": "2001",
                "window_start": "2027-01-15T09:00:00+01:00",
                "window_end": "2027-01-15T17:00:00+01:00"}
        body[field] = "2027-01-15T09:00:00"
        response = _forwarding(api, roles.member, roles.mia, **body)
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert list(errors) == [field]
        assert "offset" in errors[field][0]
        assert not ForwardingSettings.objects.filter(person=roles.mia,
                                                     window_enabled=True).exists()

    def test_offsets_are_kept_and_answers_are_utc(self, api, roles):
        response = _forwarding(api, roles.member, roles.mia, window_enabled=True,
                               window_destination="2001",
                               window_start="2027-01-15T09:00:00+01:00",
                               window_end="2027-01-15T12:00:00-05:00")
        assert response.status_code == 200, response.json()
        row = ForwardingSettings.objects.get(person=roles.mia)
        assert (row.window_start, row.window_end) == (
            datetime(2027, 1, 15, 8, 0, tzinfo=UTC), datetime(2027, 1, 15, 17, 0, tzinfo=UTC))
        data = response.json()
        assert datetime.fromisoformat(data["window_start"]) == row.window_start
        assert data["window_start"].endswith(("Z", "+00:00"))

    def test_the_audit_filter_wants_an_offset_too(self, api, roles):
        response = api(roles.admin).get("/api/v1/audit-events/",
                                        {"since": "2026-07-01T10:00:00"})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["since"]
        ok = api(roles.admin).get("/api/v1/audit-events/",
                                  {"since": "2026-07-01T10:00:00+02:00"})
        assert ok.status_code == 200


class TestOrgZone:
    def test_read_and_changed_by_an_admin(self, api, roles):
        url = f"/api/v1/organizations/{roles.org.id}/"
        assert api(roles.member).get(url).json()["time_zone"] == "UTC"
        response = api(roles.admin).patch(url, {"time_zone": "America/New_York"},
                                          format="json")
        assert response.status_code == 200
        assert response.json()["time_zone"] == "America/New_York"
        roles.org.refresh_from_db()
        assert roles.org.time_zone == "America/New_York"
        event = AuditEvent.objects.get(event="organization.updated")
        assert event.new == {"time_zone": "America/New_York"}

    def test_a_partner_changes_it_on_behalf(self, api, roles):
        response = api(roles.partner).patch(f"/api/v1/organizations/{roles.org.id}/",
                                            {"time_zone": "Europe/Berlin"}, format="json")
        assert response.status_code == 200
        event = AuditEvent.objects.get(event="organization.updated")
        assert event.via_partner == roles.partner_org

    @pytest.mark.parametrize(("body", "message"), [
        ({"time_zone": "Europe/Atlantis"}, "Europe/Atlantis is not a time zone"),
        ({"time_zone": ""}, "needs a time zone"),
        ({"time_zone": 5}, "Not a valid string"),
        ({}, "required"),
    ])
    def test_bad_values_are_400_and_change_nothing(self, api, roles, body, message):
        response = api(roles.admin).patch(f"/api/v1/organizations/{roles.org.id}/", body,
                                          format="json")
        assert response.status_code == 400
        assert message in response.json()["errors"]["time_zone"][0]
        roles.org.refresh_from_db()
        assert roles.org.time_zone == "UTC"
        assert not AuditEvent.objects.filter(event="organization.updated").exists()

    @pytest.mark.parametrize(("role", "status"), [
        ("member", 403), ("stranger", 404), ("lonely_partner", 404), ("admin_no_mfa", 403)])
    def test_others_cannot(self, api, roles, role, status):
        response = api(getattr(roles, role)).patch(
            f"/api/v1/organizations/{roles.org.id}/", {"time_zone": "Asia/Tokyo"},
            format="json")
        assert response.status_code == status
        roles.org.refresh_from_db()
        assert roles.org.time_zone == "UTC"


class TestPersonZone:
    def test_a_person_sets_their_own(self, api, roles):
        url = f"/api/v1/people/{roles.mia.id}/"
        data = api(roles.member).get(url).json()
        assert (data["time_zone"], data["zone_name"]) == ("", "UTC")
        response = api(roles.member, token=True).patch(url, {"time_zone": "Europe/Berlin"},
                                                       format="json")
        assert response.status_code == 200
        assert (response.json()["time_zone"], response.json()["zone_name"]) == (
            "Europe/Berlin", "Europe/Berlin")
        event = AuditEvent.objects.get(event="person.time_zone_changed")
        assert (event.person, event.new) == (roles.mia, {"time_zone": "Europe/Berlin"})

    def test_empty_means_the_orgs(self, api, roles):
        roles.org.time_zone = "America/Chicago"
        roles.org.save(update_fields=["time_zone"])
        roles.mia.time_zone = "Europe/Berlin"
        roles.mia.save(update_fields=["time_zone"])
        response = api(roles.admin).patch(f"/api/v1/people/{roles.mia.id}/",
                                          {"time_zone": ""}, format="json")
        assert response.status_code == 200
        assert response.json()["zone_name"] == "America/Chicago"

    def test_an_unknown_zone_is_400(self, api, roles):
        response = api(roles.member).patch(f"/api/v1/people/{roles.mia.id}/",
                                           {"time_zone": "Berlin"}, format="json")
        assert response.status_code == 400
        assert "Berlin is not a time zone" in response.json()["errors"]["time_zone"][0]
        roles.mia.refresh_from_db()
        assert roles.mia.time_zone == ""

    @pytest.mark.parametrize(("role", "status"), [
        ("member", 404), ("stranger", 404), ("admin_no_mfa", 403), ("partner", 200)])
    def test_somebody_elses(self, api, roles, role, status):
        response = api(getattr(roles, role)).patch(
            f"/api/v1/people/{roles.bob.id}/", {"time_zone": "Asia/Tokyo"}, format="json")
        assert response.status_code == status
        roles.bob.refresh_from_db()
        assert roles.bob.time_zone == ("Asia/Tokyo" if status == 200 else "")


def test_the_schema_documents_zones_and_offsets(openapi):
    document = openapi.document
    person = document["paths"]["/api/v1/people/{id}/"]
    assert "patch" in person
    assert "patch" in document["paths"]["/api/v1/organizations/{id}/"]
    schemas = document["components"]["schemas"]
    assert "time_zone" in schemas["Organization"]["properties"]
    assert "time_zone" in schemas["Person"]["properties"]
    assert "offset" in schemas["Forwarding"]["properties"]["window_start"]["description"]
