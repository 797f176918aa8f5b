"""The bounds of bulk work on the pages: the row limit, the upload size, overlong rows,
the id list of a bulk edit, dry runs kept in the database (per-user cap, expiry, only
their maker's), big files checked by a worker with a progress page, and results paged."""

import re
from datetime import timedelta

import pytest
from celery import Celery
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from forwarding.bulk import drafts
from forwarding.models import BulkDraft, BulkDraftRow, BulkJob, BulkJobRow, ForwardingSettings
from portal.models import AuditEvent, Membership, Person
from tests.cast import make_user, update


def upload(text, name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def csv_of(people, destination="2001"):
    lines = ["email,busy_enabled,busy_destination"]
    lines += [f"{p.email},yes,{destination}" for p in people]
    return "\n".join(lines) + "\n"


def state():
    return (list(ForwardingSettings.objects.order_by("person_id")
                 .values_list("person_id", "version")),
            AuditEvent.objects.count(), BulkJob.objects.count())


@pytest.fixture
def crowd(org):
    """150 people of the org, each with an email and a number of their own."""
    Person.objects.bulk_create([
        Person(org=org, display_name=f"Person {n:03d}", email=f"p{n}@acme.example",
               phone_number=f"+1303555{n:04d}", provider_person_id=f"acme-{n}")
        for n in range(150)])
    return list(Person.objects.filter(org=org, provider_person_id__startswith="acme-")
                .order_by("id"))


def dry_run(client, org, text, name="people.csv"):
    return client.post(reverse("bulk_import", args=[org.id]), {"file": upload(text, name)})


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.django_db
class TestLimits:
    def test_a_file_over_the_row_limit_is_refused_with_the_reason(self, client, admin_user,
                                                                  org, crowd, settings):
        settings.BULK_MAX_ROWS = 100
        client.force_login(admin_user)
        before = state()
        response = dry_run(client, org, csv_of(crowd[:101]))
        assert response.status_code == 400
        html = response.content.decode()
        assert ("This file has more than 100 rows, the most one import takes. Split it "
                "into smaller files.") in html
        assert not BulkDraft.objects.exists() and state() == before
        # At the limit it goes through.
        assert dry_run(client, org, csv_of(crowd[:100])).status_code == 200

    def test_an_upload_over_the_size_limit_is_refused_on_the_form(self, client, admin_user,
                                                                   org, crowd, settings):
        settings.BULK_MAX_UPLOAD_BYTES = 1024
        client.force_login(admin_user)
        text = csv_of(crowd[:60])
        assert len(text.encode()) > 1024
        response = dry_run(client, org, text)
        assert response.status_code == 400
        assert ("This file is larger than 1.0\xa0KB, the most one import takes; split it "
                "into smaller files.") in response.content.decode()
        assert not BulkDraft.objects.exists()

    def test_an_overlong_row_is_refused_before_it_is_split_into_cells(self, client,
                                                                      admin_user, org):
        client.force_login(admin_user)
        # One line of 200,000 empty cells: read whole, it would be 200,000 strings.
        response = dry_run(client, org, "email,busy_enabled\n" + "," * 200_000 + "\n")
        assert response.status_code == 400
        assert "Line 2 is longer than 10,000 characters" in response.content.decode()
        assert not BulkDraft.objects.exists()

    def test_a_bulk_edit_of_too_many_people_goes_back_with_a_message(self, client,
                                                                      admin_user, org,
                                                                      crowd, settings):
        settings.BULK_EDIT_MAX_PEOPLE = 100
        client.force_login(admin_user)
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [p.pk for p in crowd[:101]], "feature": "busy", "action": "set",
            "destination": "2001"}, follow=True)
        assert ("101 people were chosen; a bulk edit takes at most 100. Split it into "
                "smaller ones.") in response.content.decode()
        assert not BulkJob.objects.exists()


@pytest.mark.django_db
class TestDrafts:
    def test_a_dry_run_is_kept_in_the_database_not_in_the_cache(self, client, admin_user,
                                                                org, crowd):
        client.force_login(admin_user)
        before = state()
        response = dry_run(client, org, csv_of(crowd[:3]))
        assert response.status_code == 200 and state() == before
        draft = BulkDraft.objects.get()
        assert (draft.created_by, draft.org, draft.status, draft.rows_total) == (
            admin_user, org, BulkDraft.READY, 3)
        assert bytes(draft.data) == csv_of(crowd[:3]).encode()
        assert list(draft.rows.values_list("kind", flat=True)) == ["change"] * 3
        # Losing the cache (a Redis restart, an eviction) loses no dry run.
        cache.clear()
        applied = client.post(reverse("bulk_import_apply", args=[org.id]),
                              {"token": token_of(response)})
        job = BulkJob.objects.get()
        assert applied.url == reverse("bulk_job", args=[job.id])
        assert job.rows.filter(status=BulkJobRow.PENDING).count() == 3
        assert not BulkDraft.objects.exists() and not BulkDraftRow.objects.exists()

    def test_each_user_keeps_a_bounded_number_of_dry_runs(self, client, admin_user, org,
                                                          crowd, settings):
        settings.BULK_DRAFTS_PER_USER = 2
        other = make_user(org=org, role=Membership.ADMIN, mfa=True)
        theirs = drafts.draft_create(org=org, user=other, via_partner=None,
                                          filename="x.csv", data=csv_of(crowd[:1]).encode())[0]
        client.force_login(admin_user)
        first, second, third = (token_of(dry_run(client, org, csv_of(crowd[:n]), f"{n}.csv"))
                                for n in (1, 2, 3))
        assert sorted(BulkDraft.objects.filter(created_by=admin_user)
                      .values_list("filename", flat=True)) == ["2.csv", "3.csv"]
        assert BulkDraft.objects.filter(pk=theirs.pk).exists()  # another user's stay
        # The replaced one is refused cleanly; the newest still applies.
        response = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": first},
                               follow=True)
        assert "This dry run has expired or was replaced by a newer one." in \
            response.content.decode()
        assert not BulkJob.objects.exists()
        assert client.get(reverse("bulk_draft", args=[org.id, first])).status_code == 404
        client.post(reverse("bulk_import_apply", args=[org.id]), {"token": third})
        assert BulkJob.objects.get().filename == "3.csv"
        assert second

    def test_an_expired_dry_run_is_refused_and_cleared_away(self, client, admin_user, org,
                                                            crowd, settings):
        settings.BULK_DRAFT_SECONDS = 600
        client.force_login(admin_user)
        token = token_of(dry_run(client, org, csv_of(crowd[:2])))
        draft = BulkDraft.objects.get()
        assert abs((draft.expires_at - draft.created_at) - timedelta(seconds=600)) < \
            timedelta(seconds=1)
        BulkDraft.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": token},
                               follow=True)
        assert "This dry run has expired" in response.content.decode()
        assert not BulkJob.objects.exists()
        assert client.get(reverse("bulk_draft", args=[org.id, token])).status_code == 404
        # The next dry run, of anybody, deletes expired ones with their rows.
        other = make_user(org=org, role=Membership.ADMIN, mfa=True)
        drafts.draft_create(org=org, user=other, via_partner=None, filename="y.csv",
                                 data=csv_of(crowd[:1]).encode())
        assert not BulkDraft.objects.filter(pk=draft.pk).exists()
        assert not BulkDraftRow.objects.filter(draft_id=draft.pk).exists()

    def test_a_dry_run_of_someone_else_does_not_exist_for_you(self, client, admin_user, org,
                                                              crowd, partner_admin,
                                                              delegation):
        client.force_login(admin_user)
        token = token_of(dry_run(client, org, csv_of(crowd[:2])))
        for intruder in (make_user(org=org, role=Membership.ADMIN, mfa=True), partner_admin):
            client.force_login(intruder)
            assert client.get(reverse("bulk_draft", args=[org.id, token])).status_code == 404
            response = client.post(reverse("bulk_import_apply", args=[org.id]),
                                   {"token": token}, follow=True)
            assert "This dry run has expired" in response.content.decode()
        assert not BulkJob.objects.exists() and BulkDraft.objects.count() == 1

    def test_a_change_made_after_the_dry_run_is_not_overwritten(self, client, admin_user,
                                                                org, crowd):
        client.force_login(admin_user)
        token = token_of(dry_run(client, org, csv_of(crowd[:2])))
        update(crowd[0], busy_enabled=True, busy_destination="2999")
        client.post(reverse("bulk_import_apply", args=[org.id]), {"token": token})
        job = BulkJob.objects.get()
        from forwarding.bulk import jobs

        jobs.apply_rows(job_id=job.pk, row_ids=list(job.rows.values_list("id", flat=True)))
        rows = list(job.rows.order_by("line"))
        assert [r.status for r in rows] == [BulkJobRow.FAILED, BulkJobRow.APPLIED]
        assert "version" in rows[0].errors
        assert ForwardingSettings.objects.get(person=crowd[0]).busy_destination == "2999"


@pytest.mark.django_db
class TestPagesOfResults:
    def test_the_results_come_a_page_at_a_time(self, client, admin_user, org, crowd):
        client.force_login(admin_user)
        response = dry_run(client, org, csv_of(crowd))
        html = response.content.decode()
        assert "Apply 150 changes" in html
        assert html.count('<tr class="change">') == 100
        draft = BulkDraft.objects.get()
        url = reverse("bulk_draft", args=[org.id, draft.id])
        assert f'href="{url}?show=&amp;page=2" rel="next"' in html
        second = client.get(url, {"page": 2}).content.decode()
        assert second.count('<tr class="change">') == 50 and "Page 2 of 2" in second
        assert "Person 149" in second and "Person 149" not in html

    def test_a_big_file_is_checked_by_a_worker_with_a_progress_page(
            self, client, admin_user, org, crowd, settings, monkeypatch,
            django_capture_on_commit_callbacks):
        settings.BULK_INLINE_DRY_RUN_ROWS = 100
        sent = []
        monkeypatch.setattr(Celery, "send_task", lambda app, name, args=None, queue=None, **kw:
                            sent.append((args, queue)))
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = dry_run(client, org, csv_of(crowd))
        draft = BulkDraft.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("bulk_draft", args=[org.id, draft.id])
        assert sent == [([draft.pk], "bulk")]
        assert (draft.status, draft.rows_total, draft.rows.count()) == ("queued", 150, 0)
        page = client.get(response.url).content.decode()
        assert '<meta http-equiv="refresh" content="2">' in page
        assert "0 of 150 rows checked" in page and 'name="token"' not in page
        # What the worker runs.
        assert drafts.draft_run(draft.pk) is True
        page = client.get(response.url).content.decode()
        assert 'http-equiv="refresh"' not in page and "Apply 150 changes" in page
        assert drafts.draft_run(draft.pk) is False  # a redelivered message: nothing
