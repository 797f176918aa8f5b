"""The API's side of issue 15's safety checks: an emergency number is a 400 on its
field; a loop through busy forwarding is a 400 that asks for `confirm_loops: true`, which
saves it; the schema documents the flag."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from forwarding.models import BulkJob, ForwardingSettings
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

    def test_applying_a_dry_run_with_loop_warnings_asks_for_confirm_loops(self, api, roles):
        update(roles.mia, always_enabled=True, always_destination=roles.bob.phone_number)
        client = api(roles.admin)
        text = (f"email,busy_enabled,busy_destination\n"
                f"{roles.bob.email},yes,{roles.mia.phone_number}\n")
        body = client.post(f"/api/v1/organizations/{roles.org.id}/import/", {
            "file": SimpleUploadedFile("loop.csv", text.encode(), content_type="text/csv")},
            format="multipart").json()
        assert "bounce between" in body["rows"][0]["warnings"]["busy_destination"][0]
        draft = client.get(f"/api/v1/bulk-drafts/{body['draft']}/").json()
        assert draft["warned"] == 1

        url = f"/api/v1/bulk-drafts/{body['draft']}/apply/"
        refused = client.post(url, {}, format="json")
        assert refused.status_code == 400
        assert refused.json()["confirm"] == "confirm_loops"
        assert "confirm_loops" in refused.json()["errors"]
        assert not BulkJob.objects.exists()
        assert client.post(url, {"confirm_loops": 1}, format="json").status_code == 400

        applied = client.post(url, {"confirm_loops": True}, format="json")
        assert applied.status_code == 202, applied.json()
        assert BulkJob.objects.get().rows.get().status == "pending"

    def test_a_bulk_edit_or_import_that_loops_asks_for_confirm_loops(self, api, roles):
        """A job applies loop warnings as confirmed, so starting one needs the flag."""
        update(roles.mia, always_enabled=True, always_destination=roles.bob.phone_number)
        client = api(roles.admin)
        edit = {"people": [roles.bob.id], "feature": "busy", "action": "set",
                "destination": roles.mia.phone_number}
        url = f"/api/v1/organizations/{roles.org.id}/bulk-edit/"
        refused = client.post(url, edit, format="json")
        assert refused.status_code == 400 and refused.json()["confirm"] == "confirm_loops"
        assert "bounce between" in refused.json()["errors"]["rows-1-busy_destination"][0]
        assert not BulkJob.objects.exists()
        assert client.post(url, {**edit, "confirm_loops": True},
                           format="json").status_code == 202

        BulkJob.objects.all().delete()
        text = (f"email,busy_enabled,busy_destination\n"
                f"{roles.bob.email},yes,{roles.mia.phone_number}\n")
        url = f"/api/v1/organizations/{roles.org.id}/import/"

        def send(**extra):
            return client.post(url, {"file": SimpleUploadedFile("loop.csv", text.encode()),
                                     "dry_run": "false", **extra}, format="multipart")

        refused = send()
        assert refused.status_code == 400 and refused.json()["confirm"] == "confirm_loops"
        assert not BulkJob.objects.exists()
        assert send(confirm_loops="true").status_code == 202


def test_the_schema_documents_confirm_loops(openapi):
    schemas = openapi.document["components"]["schemas"]
    names = [name for name in schemas if name.startswith(("Forwarding", "PatchedForwarding"))]
    flags = [schemas[name]["properties"].get("confirm_loops") for name in names]
    documented = [flag for flag in flags if flag is not None]
    assert documented, names
    assert all(flag["type"] == "boolean" and flag.get("writeOnly") for flag in documented)
    assert "busy" in documented[0]["description"]
    assert "confirm_loops" in schemas["Error"]["properties"]["confirm"]["description"]
