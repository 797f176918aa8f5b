"""The API's side of issue 15's safety checks: an emergency number is a 400 on its
field; a loop through busy forwarding is a 400 that asks for `confirm_loops: true`, which
saves it; the schema documents the flag."""

import pytest

from forwarding.models import ForwardingSettings
from tests.cast import audit_count, update


def url(person):
    return f"/api/v1/people/{person.id}/forwarding/"


def version_of(person):
    row = ForwardingSettings.objects.filter(person=person).first()
    return row.version if row else 1


@pytest.mark.django_db
class TestSafety:
    def test_an_emergency_number_is_refused_on_its_field(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), {
            "version": version_of(roles.bob), "busy_enabled": True,
            "busy_destination": "+1 911"}, format="json")
        assert response.status_code == 400
        body = response.json()
        assert "911 is an emergency number" in body["errors"]["busy_destination"][0]
        assert "confirm" not in body

    def test_a_busy_loop_asks_for_confirm_loops_then_saves(self, api, roles):
        update(roles.mia, always_enabled=True, always_destination=roles.bob.phone_number)
        client = api(roles.admin)
        change = {"version": version_of(roles.bob), "busy_enabled": True,
                  "busy_destination": roles.mia.phone_number}
        before = audit_count()
        response = client.patch(url(roles.bob), change, format="json")
        assert response.status_code == 400
        body = response.json()
        assert body["confirm"] == "confirm_loops"
        assert "confirm_loops: true" in body["detail"]
        assert ("when Bob Builder is busy, calls bounce between Bob Builder and Mia Member"
                in body["errors"]["busy_destination"][0])
        assert audit_count() == before

        response = client.patch(url(roles.bob), {**change, "confirm_loops": True},
                                format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["busy_enabled"] is True
        assert "confirm_loops" not in response.json()

    def test_an_always_loop_is_refused_even_when_confirmed(self, api, roles):
        update(roles.mia, always_enabled=True, always_destination=roles.bob.phone_number)
        response = api(roles.admin).patch(url(roles.bob), {
            "version": version_of(roles.bob), "always_enabled": True,
            "always_destination": roles.mia.phone_number, "confirm_loops": True},
            format="json")
        assert response.status_code == 400
        assert "forwarding loop" in response.json()["errors"]["always_destination"][0]
        assert "confirm" not in response.json()


def test_the_schema_documents_confirm_loops(openapi):
    schemas = openapi.document["components"]["schemas"]
    names = [name for name in schemas if name.startswith(("Forwarding", "PatchedForwarding"))]
    flags = [schemas[name]["properties"].get("confirm_loops") for name in names]
    documented = [flag for flag in flags if flag is not None]
    assert documented, names
    assert all(flag["type"] == "boolean" and flag.get("writeOnly") for flag in documented)
    assert "busy" in documented[0]["description"]
    assert "confirm_loops" in schemas["Error"]["properties"]["confirm"]["description"]
