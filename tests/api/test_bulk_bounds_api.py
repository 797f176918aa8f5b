"""The bounds of bulk work in the API: the row limit and the upload size as 400s naming
the file, the id list of a bulk edit capped (400 naming `people`), dry runs kept in the
database and only their maker's, big files checked by a worker (202), and the rows of a
dry run a page at a time. Every answer is checked against the schema."""

import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile

from forwarding.bulk import drafts
from forwarding.models import BulkDraft, BulkJob, BulkJobRow
from portal.models import Person


def upload(text, name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def crowd(roles):
    Person.objects.bulk_create([
        Person(org=roles.org, display_name=f"Person {n:03d}", email=f"p{n}@acme.example",
               phone_number=f"+1303555{n:04d}", provider_person_id=f"acme-{n}")
        for n in range(120)])
    return list(Person.objects.filter(org=roles.org, provider_person_id__startswith="acme-")
                .order_by("id"))


def csv_of(people):
    return "email,busy_enabled,busy_destination\n" + "".join(
        f"{p.email},yes,2001\n" for p in people)


def import_url(roles):
    return f"/api/v1/organizations/{roles.org.id}/import/"


@pytest.mark.django_db
class TestImportLimits:
    @pytest.mark.parametrize("dry_run", ["true", "false"])
    def test_the_row_limit_is_a_400_naming_the_file(self, api, roles, crowd, settings,
                                                    dry_run):
        settings.BULK_MAX_ROWS = 100
        response = api(roles.admin).post(import_url(roles), {
            "file": upload(csv_of(crowd[:101])), "dry_run": dry_run}, format="multipart")
        assert response.status_code == 400
        assert response.json() == {"detail": "The file cannot be imported.", "errors": {
            "file": ["This file has more than 100 rows, the most one import takes. Split "
                     "it into smaller files."]}}
        assert not BulkDraft.objects.exists() and not BulkJob.objects.exists()

    def test_the_upload_size_is_a_400_naming_the_file(self, api, roles, crowd, settings):
        settings.BULK_MAX_UPLOAD_BYTES = 1024
        response = api(roles.admin).post(import_url(roles), {"file": upload(csv_of(crowd))},
                                         format="multipart")
        assert response.status_code == 400
        assert response.json()["errors"] == {"file": [
            "This file is larger than 1.0\xa0KB, the most one import takes; split it into "
            "smaller files."]}
        assert not BulkDraft.objects.exists()

    def test_a_file_for_a_worker_cannot_skip_the_dry_run(self, api, roles, crowd, settings):
        settings.BULK_INLINE_DRY_RUN_ROWS = 50
        response = api(roles.admin).post(import_url(roles), {
            "file": upload(csv_of(crowd[:51])), "dry_run": "false"}, format="multipart")
        assert response.status_code == 400
        assert "send it as a dry run first" in response.json()["errors"]["file"][0]
        assert not BulkJob.objects.exists()


@pytest.mark.django_db
class TestBulkEditCap:
    def test_too_many_ids_is_a_400_naming_people(self, api, roles, crowd, settings):
        settings.BULK_EDIT_MAX_PEOPLE = 100
        url = f"/api/v1/organizations/{roles.org.id}/bulk-edit/"
        body = {"feature": "busy", "action": "set", "destination": "2001"}
        response = api(roles.admin).post(url, {**body, "people": [p.pk for p in crowd[:101]]},
                                         format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"people": [
            "101 people were chosen; a bulk edit takes at most 100. Split it into smaller "
            "ones."]}
        assert not BulkJob.objects.exists()
        # Even ids that are not numbers are refused for their count first, unparsed.
        response = api(roles.admin).post(url, {**body, "people": ["x"] * 1000}, format="json")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["people"]
        ok = api(roles.admin).post(url, {**body, "people": [p.pk for p in crowd[:100]]},
                                   format="json")
        assert ok.status_code == 202


@pytest.mark.django_db
class TestDraftsInTheApi:
    def test_a_dry_run_answers_its_first_page_and_pages_the_rest(self, api, roles, crowd):
        client = api(roles.admin)
        body = client.post(import_url(roles), {"file": upload(csv_of(crowd))},
                           format="multipart").json()
        assert (body["total"], body["changing"], len(body["rows"])) == (120, 120, 50)
        draft = BulkDraft.objects.get()
        assert body["draft"] == draft.pk and body["rows_next"].endswith(
            f"/api/v1/bulk-drafts/{draft.pk}/rows/?show=all&page=2")
        page = client.get(body["rows_next"]).json()
        assert [r["line"] for r in page["results"]] == list(range(52, 102))
        last = client.get(page["next"]).json()
        assert len(last["results"]) == 20 and last["next"] is None
        detail = client.get(f"/api/v1/bulk-drafts/{draft.pk}/").json()
        assert (detail["status"], detail["rows_done"], detail["changing"]) == (
            "ready", 120, 120)
        job = client.post(f"/api/v1/bulk-drafts/{draft.pk}/apply/")
        assert job.status_code == 202
        assert BulkJob.objects.get().rows.filter(status=BulkJobRow.PENDING).count() == 120
        # Used up.
        assert client.post(f"/api/v1/bulk-drafts/{draft.pk}/apply/").status_code == 404

    def test_a_dry_run_is_its_makers_alone(self, api, roles, crowd):
        draft, _ = drafts.draft_create(org=roles.org, user=roles.admin, via_partner=None,
                                            filename="a.csv",
                                            data=csv_of(crowd[:2]).encode())
        for intruder in (roles.partner, roles.stranger, roles.member):
            client = api(intruder)
            for path in (f"/api/v1/bulk-drafts/{draft.pk}/",
                         f"/api/v1/bulk-drafts/{draft.pk}/rows/"):
                assert client.get(path).status_code == 404
            assert client.post(f"/api/v1/bulk-drafts/{draft.pk}/apply/").status_code == 404
        assert not BulkJob.objects.exists() and BulkDraft.objects.count() == 1

    def test_a_big_file_answers_202_and_a_worker_checks_it(self, api, roles, crowd, settings,
                                                           monkeypatch,
                                                           django_capture_on_commit_callbacks):
        settings.BULK_INLINE_DRY_RUN_ROWS = 50
        sent = []
        monkeypatch.setattr(Celery, "send_task", lambda app, name, args=None, queue=None, **kw:
                            sent.append((args, queue)))
        client = api(roles.admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(import_url(roles), {"file": upload(csv_of(crowd))},
                                   format="multipart")
        assert response.status_code == 202
        draft = BulkDraft.objects.get()
        assert response["Location"] == f"/api/v1/bulk-drafts/{draft.pk}/"
        assert response.json()["status"] == "queued" and sent == [([draft.pk], "bulk")]
        assert client.post(f"/api/v1/bulk-drafts/{draft.pk}/apply/").status_code == 404
        drafts.draft_run(draft.pk)
        assert client.get(response["Location"]).json()["status"] == "ready"
