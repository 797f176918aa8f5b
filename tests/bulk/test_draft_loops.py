"""A stored dry run keeps the conditional-loop warnings of its rows (issue 15): they are
shown on the dry run's rows, and applying it needs an explicit confirmation (the API's
side: tests/api/test_safety_api.py)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from forwarding.bulk import drafts
from forwarding.models import BulkDraft, BulkDraftRow, BulkJob
from tests.cast import make_person, update

WARNING = "when Grace is busy, calls bounce between Grace and Ada"


@pytest.fixture
def pair(org):
    ada = make_person(org, name="Ada", email="ada@acme.example", number="+12025550181")
    grace = make_person(org, name="Grace", email="grace@acme.example", number="+12025550182")
    update(ada, always_enabled=True, always_destination=grace.phone_number)
    return ada, grace


def loop_csv(grace, ada):
    return f"email,busy_enabled,busy_destination\n{grace.email},yes,{ada.phone_number}\n"


def dry_run(client, org, text):
    return client.post(reverse("bulk_import", args=[org.id]), {
        "file": SimpleUploadedFile("loop.csv", text.encode(), content_type="text/csv")})


@pytest.mark.django_db
class TestDraftLoopWarnings:
    def test_the_rows_keep_their_warnings(self, org, admin_user, pair):
        ada, grace = pair
        draft, problems = drafts.draft_create(org=org, user=admin_user, via_partner=None,
                                              filename="loop.csv",
                                              data=loop_csv(grace, ada).encode())
        assert problems == []
        assert draft.status == BulkDraft.READY and draft.changing == 1 and draft.warned == 1
        row = BulkDraftRow.objects.get(draft=draft)
        assert row.kind == BulkDraftRow.CHANGE
        assert WARNING in row.warnings["busy_destination"][0]

    def test_the_page_shows_the_warning_and_applies_only_when_confirmed(
            self, client, admin_user, org, pair):
        ada, grace = pair
        client.force_login(admin_user)
        html = dry_run(client, org, loop_csv(grace, ada)).content.decode()
        assert WARNING in html.split('class="row-warnings"', 1)[1].split("</ul>", 1)[0]
        assert 'name="confirm_loops"' in html
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)

        refused = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": token},
                              follow=True)
        assert not BulkJob.objects.exists()
        assert "Nothing was applied: 1 change makes a forwarding loop" in (
            refused.content.decode())
        assert BulkDraft.objects.filter(pk=token).exists()  # still there to confirm

        client.post(reverse("bulk_import_apply", args=[org.id]),
                    {"token": token, "confirm_loops": "yes"})
        job = BulkJob.objects.get()
        assert job.rows.get().status == "pending"
        assert not BulkDraft.objects.exists()
