"""The bulk endpoints: export, import (dry run and job), bulk edit, jobs, rows, undo; for
every role, with every answer checked against the schema."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from forwarding.bulk import jobs
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings
from portal.models import AuditEvent

from .conftest import ROLES, user_of

STATUS = {"anonymous": 401, "member": 404, "admin": 200, "admin_no_mfa": 200,
          "stranger": 404, "partner": 200, "lonely_partner": 404}
WRITE_STATUS = {**STATUS, "admin": 202, "partner": 202, "admin_no_mfa": 403}


def upload(text, name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def busy_csv(roles, destination="2001"):
    return ("email,busy_enabled,busy_destination\n"
            f"{roles.mia.email},yes,{destination}\n"
            f"{roles.bob.email},yes,{destination}\n"
            "nobody@example.com,yes,2001\n")


def state():
    return (list(ForwardingSettings.objects.values_list("person_id", "version")),
            AuditEvent.objects.count(), BulkJob.objects.count())


def run(job_id):
    ids = list(BulkJobRow.objects.filter(job_id=job_id, status=BulkJobRow.PENDING)
               .values_list("id", flat=True))
    jobs.apply_rows(job_id=job_id, row_ids=ids)


@pytest.mark.django_db
class TestExportImport:
    @pytest.mark.parametrize("role", ROLES)
    def test_export(self, api, roles, role):
        response = api(user_of(roles, role)).get(f"/api/v1/organizations/{roles.org.id}/export/")
        assert response.status_code == STATUS[role]
        if response.status_code == 200:
            assert response["Content-Type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content)
                                                   .decode())))
            assert [r["display_name"] for r in rows] == ["Bob Builder", "Mia Member"]

    @pytest.mark.parametrize("role", ROLES)
    def test_dry_run_writes_nothing(self, api, roles, role):
        before = state()
        response = api(user_of(roles, role)).post(
            f"/api/v1/organizations/{roles.org.id}/import/",
            {"file": upload(busy_csv(roles))}, format="multipart")
        assert response.status_code == STATUS[role]
        assert state() == before
        if response.status_code == 200:
            body = response.json()
            assert (body["total"], body["valid"], body["invalid"], body["changing"]) == (
                3, 2, 1, 2)
            assert body["rows"][2]["errors"] == {
                "email": ["Nobody in this organization has this email."]}
            assert body["rows"][0]["changes"][1] == {
                "field": "busy_destination", "old": "", "new": "2001"}
            assert (body["via_partner"] is not None) == (role == "partner")

    @pytest.mark.parametrize("role", ROLES)
    def test_apply_creates_a_job(self, api, roles, role):
        response = api(user_of(roles, role)).post(
            f"/api/v1/organizations/{roles.org.id}/import/",
            {"file": upload(busy_csv(roles)), "dry_run": "false"}, format="multipart")
        assert response.status_code == WRITE_STATUS[role]
        if response.status_code != 202:
            assert not BulkJob.objects.exists()
            return
        job = response.json()
        assert response["Location"] == f"/api/v1/bulk-jobs/{job['id']}/"
        assert job["kind"] == "import" and job["filename"] == "people.csv"
        assert job["progress"]["pending"] == 2 and job["progress"]["failed"] == 1
        assert (job["via_partner"] is not None) == (role == "partner")
        run(job["id"])
        assert ForwardingSettings.objects.get(person=roles.bob).busy_destination == "2001"

    def test_file_problems_are_400(self, api, roles):
        client = api(roles.admin)
        response = client.post(f"/api/v1/organizations/{roles.org.id}/import/",
                               {"file": upload("name,busy\nx,y\n")}, format="multipart")
        assert response.status_code == 400
        body = response.json()
        assert body["detail"] == "The file cannot be imported."
        assert "Unknown columns: name, busy." in body["errors"]["file"][0]
        missing = client.post(f"/api/v1/organizations/{roles.org.id}/import/", {},
                              format="multipart")
        assert missing.status_code == 400 and "file" in missing.json()["errors"]


@pytest.mark.django_db
class TestBulkEdit:
    @pytest.mark.parametrize("role", ROLES)
    def test_roles(self, api, roles, role):
        response = api(user_of(roles, role)).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.mia.id, roles.bob.id, roles.zed.id], "feature": "busy",
             "action": "set", "destination": "+1 202 555 0150"}, format="json")
        assert response.status_code == WRITE_STATUS[role]
        if response.status_code == 202:
            job = BulkJob.objects.get()
            assert job.kind == "edit" and job.description == (
                "Forward when busy: set to +1 202 555 0150 for 3 people")
            # Zed belongs to another org: refused as unknown, the others go ahead.
            statuses = dict(job.rows.values_list("person_label", "status"))
            assert statuses == {"Mia Member": "pending", "Bob Builder": "pending",
                                "": "invalid"}

    def test_dry_run_and_refusals(self, api, roles):
        client = api(roles.admin)
        url = f"/api/v1/organizations/{roles.org.id}/bulk-edit/"
        before = state()
        body = client.post(url, {"people": [roles.mia.id], "feature": "busy",
                                 "action": "set", "destination": "+1 202 555 0101",
                                 "dry_run": True}, format="json").json()
        assert state() == before
        assert body["rows"][0]["errors"]["busy_destination"][0].startswith(
            "This is the person's own line")
        missing = client.post(url, {"people": [roles.mia.id], "feature": "busy",
                                    "action": "set"}, format="json")
        assert missing.status_code == 400 and "destination" in missing.json()["errors"]
        wrong = client.post(url, {"people": [], "feature": "simring", "action": "on"},
                            format="json")
        assert set(wrong.json()["errors"]) == {"people", "feature", "action"}

    def test_a_destination_nobody_can_take_is_400_and_starts_no_job(self, api, roles):
        """Invalid for everyone ("12ab"): the whole request is refused with the reason
        by field, as the page does, and no job (nor audit row) exists."""
        before = state()
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.mia.id, roles.bob.id], "feature": "busy", "action": "set",
             "destination": "12ab"}, format="json")
        assert response.status_code == 400, response.json()
        assert state() == before
        body = response.json()
        assert body["detail"].startswith("Nobody ticked can take this change.")
        # One reason everybody shares, once, under the request's own field name.
        assert body["errors"] == {"destination": [
            "Enter a phone number, an extension, or a tel: or sip: URI."]}

    def test_valid_for_some_starts_a_job_with_the_others_refused(self, api, roles):
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.mia.id, roles.zed.id], "feature": "busy", "action": "set",
             "destination": "2001"}, format="json")
        assert response.status_code == 202
        assert BulkJob.objects.get().rows.filter(status="invalid").count() == 1


@pytest.mark.django_db
class TestJobs:
    @pytest.fixture
    def job(self, api, roles):
        response = api(roles.admin).post(
            f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
            {"people": [roles.mia.id, roles.bob.id], "feature": "busy", "action": "set",
             "destination": "2001"}, format="json")
        return response.json()["id"]

    @pytest.mark.parametrize("role", ROLES)
    def test_list(self, api, roles, job, role):
        response = api(user_of(roles, role)).get("/api/v1/bulk-jobs/")
        if role == "anonymous":
            assert response.status_code == 401
            return
        ids = [j["id"] for j in response.json()["results"]]
        visible = role in ("admin", "admin_no_mfa", "partner")
        assert ids == ([job] if visible else [])

    @pytest.mark.parametrize("role", ROLES)
    def test_detail_and_rows(self, api, roles, job, role):
        client = api(user_of(roles, role))
        response = client.get(f"/api/v1/bulk-jobs/{job}/")
        assert response.status_code == STATUS[role]
        rows = client.get(f"/api/v1/bulk-jobs/{job}/rows/")
        assert rows.status_code == STATUS[role]
        if rows.status_code == 200:
            assert [r["outcome"] for r in rows.json()["results"]] == ["pending", "pending"]

    def test_progress_and_outcomes_after_the_run(self, api, roles, job):
        run(job)
        client = api(roles.partner)
        body = client.get(f"/api/v1/bulk-jobs/{job}/").json()
        assert body["status"] == "done" and body["progress"]["applied"] == 2
        assert body["progress"]["pushed"] == 0 and body["progress"]["settled"] is False
        rows = client.get(f"/api/v1/bulk-jobs/{job}/rows/", {"status": "applied"}).json()
        assert [r["outcome"] for r in rows["results"]] == ["applied", "applied"]
        assert rows["results"][0]["new_version"] == 2

    def test_job_list_queries_do_not_grow(self, api, roles, job,
                                          django_assert_max_num_queries):
        client = api(roles.admin)
        client.get("/api/v1/bulk-jobs/")
        for _ in range(5):
            client.post(f"/api/v1/organizations/{roles.org.id}/bulk-edit/",
                        {"people": [roles.mia.id], "feature": "busy", "action": "off"},
                        format="json")
        with django_assert_max_num_queries(9):
            assert client.get("/api/v1/bulk-jobs/").json()["count"] == 6

    @pytest.mark.parametrize("role", ROLES)
    def test_undo(self, api, roles, job, role):
        run(job)
        response = api(user_of(roles, role)).post(f"/api/v1/bulk-jobs/{job}/undo/")
        assert response.status_code == WRITE_STATUS[role]
        if response.status_code == 202:
            undo = response.json()
            assert undo["kind"] == "undo" and undo["undo_of"] == job
            run(undo["id"])
            assert not ForwardingSettings.objects.filter(busy_enabled=True).exists()
            again = api(roles.admin).post(f"/api/v1/bulk-jobs/{job}/undo/")
            assert again.status_code == 400
            assert again.json()["errors"]["job"][0].startswith("This job was undone already")
            detail = api(roles.admin).get(f"/api/v1/bulk-jobs/{job}/").json()
            assert detail["undone_by"] == [undo["id"]]

    def test_undo_of_a_running_job_is_400(self, api, roles, job):
        response = api(roles.admin).post(f"/api/v1/bulk-jobs/{job}/undo/")
        assert response.status_code == 400 and "still running" in response.json()[
            "errors"]["job"][0]
