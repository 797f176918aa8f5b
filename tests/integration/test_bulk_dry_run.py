"""A big CSV dry run end to end: the page queues it, a real Celery worker on the bulk
queue (Redis, PostgreSQL) checks it, the progress page turns into paged results, and
applying it makes the job from the stored rows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from forwarding.models import BulkDraft, BulkJob
from portal.models import Membership, Person
from tests.cast import make_org, make_user

from .harness import wait_until

pytestmark = pytest.mark.integration

ROWS = 2_500


def test_a_big_dry_run_is_checked_by_a_bulk_worker(make_worker, client, settings):
    settings.BULK_INLINE_DRY_RUN_ROWS = 1_000
    org = make_org("webex", name="Big Co")
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    Person.objects.bulk_create([
        Person(org=org, display_name=f"Person {n:05d}", email=f"p{n}@big.example",
               phone_number=f"+1303555{n:04d}", provider_person_id=f"big-{n}")
        for n in range(ROWS)])
    text = "email,busy_enabled,busy_destination\n" + "".join(
        f"p{n}@big.example,yes,+1720555{n:04d}\n" for n in range(ROWS))
    make_worker("bulk", queues="bulk")
    client.force_login(admin)

    response = client.post(reverse("bulk_import", args=[org.id]), {
        "file": SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")})
    draft = BulkDraft.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("bulk_draft", args=[org.id, draft.id])

    def ready():
        draft.refresh_from_db()
        return draft.status == BulkDraft.READY

    wait_until(ready, 120, message="the worker's dry run")
    assert (draft.rows_total, draft.rows_done, draft.changing, draft.invalid) == (
        ROWS, ROWS, ROWS, 0)
    page = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' not in page and f"Apply {ROWS} changes" in page
    assert page.count('<tr class="change">') == 100 and "Page 1 of 25" in page

    client.post(reverse("bulk_import_apply", args=[org.id]), {"token": draft.pk})
    job = BulkJob.objects.get()
    assert job.rows.count() == ROWS and not BulkDraft.objects.exists()
