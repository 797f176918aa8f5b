"""Bulk pages: import form, dry run (nothing written), apply, export, bulk edit from the
people list, the job page and its progress JSON, undo, and the org switcher."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from forwarding.bulk import jobs
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, SyncStatus
from portal.models import AuditEvent, Membership
from portal.timezones import zone
from tests.cast import make_org, make_person, make_user, update


def assert_clean(response):
    html = response.content.decode()
    assert 'style="' not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"


def upload(text, name="people.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def state():
    return (list(ForwardingSettings.objects.values_list("person_id", "version")),
            AuditEvent.objects.count(), BulkJob.objects.count())


@pytest.fixture
def people(org, member):
    bob = make_person(org, name="Bob Builder", email="bob@acme.example", number="+12025550102")
    return member.people.get(), bob


@pytest.fixture
def stranger(db):
    return make_user(org=make_org("webex"), role=Membership.ADMIN, mfa=True)


@pytest.fixture
def admin_no_mfa(org):
    return make_user(org=org, role=Membership.ADMIN)


def run(job_id):
    ids = list(BulkJobRow.objects.filter(job_id=job_id, status=BulkJobRow.PENDING)
               .values_list("id", flat=True))
    jobs.apply_rows(job_id=job_id, row_ids=ids)


def csv_for(people, destination="2001"):
    mia, bob = people
    return ("email,busy_enabled,busy_destination\n"
            f"{mia.email},yes,{destination}\n{bob.email},yes,{destination}\n"
            "nobody@acme.example,yes,2001\n")


@pytest.mark.django_db
class TestImportPages:
    @pytest.mark.parametrize("who, status", [("member", 404), ("admin_user", 200),
                                             ("stranger", 404), ("partner_admin", 200)])
    def test_who_may_open_it(self, client, request, org, delegation, who, status):
        client.force_login(request.getfixturevalue(who))
        response = client.get(reverse("bulk_import", args=[org.id]))
        assert response.status_code == status
        if status == 200:
            assert_clean(response)
            html = response.content.decode()
            assert ("You act on behalf of partner" in html) == (who == "partner_admin")

    def test_dry_run_shows_each_row_and_writes_nothing(self, client, admin_user, org, people):
        client.force_login(admin_user)
        before = state()
        response = client.post(reverse("bulk_import", args=[org.id]),
                               {"file": upload(csv_for(people))})
        assert response.status_code == 200
        assert state() == before
        assert_clean(response)
        html = response.content.decode()
        assert "Nothing has been saved." in html
        assert "Nobody in this organization has this email." in html
        assert "Apply 2 changes" in html
        # Fields named as the person page labels them, never by their code.
        assert html.count("<li>Forward when busy: destination: ") == 2
        assert "busy_destination" not in html

    def test_apply_after_the_dry_run(self, client, admin_user, org, people):
        client.force_login(admin_user)
        html = client.post(reverse("bulk_import", args=[org.id]),
                           {"file": upload(csv_for(people))}).content.decode()
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        response = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": token})
        job = BulkJob.objects.get()
        assert response.status_code == 302 and response.url == reverse("bulk_job",
                                                                        args=[job.id])
        assert job.filename == "people.csv" and job.created_by == admin_user
        assert list(job.rows.order_by("line").values_list("status", flat=True)) == [
            "pending", "pending", "invalid"]
        # The token is used up.
        again = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": token})
        assert again.status_code == 302 and BulkJob.objects.count() == 1

    def test_a_token_of_someone_else_or_a_bad_one_does_nothing(self, client, admin_user,
                                                               org, people):
        other = make_user(org=org, role=Membership.ADMIN, mfa=True)
        client.force_login(admin_user)
        html = client.post(reverse("bulk_import", args=[org.id]),
                           {"file": upload(csv_for(people))}).content.decode()
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        client.force_login(other)
        for value in (token, "forged"):
            client.post(reverse("bulk_import_apply", args=[org.id]), {"token": value})
        assert not BulkJob.objects.exists()

    def test_without_mfa_the_dry_run_works_but_apply_asks_for_it(self, client, admin_no_mfa,
                                                                 org, people):
        client.force_login(admin_no_mfa)
        html = client.post(reverse("bulk_import", args=[org.id]),
                           {"file": upload(csv_for(people))}).content.decode()
        assert "turn on two-factor authentication" in html and 'name="token"' not in html
        response = client.post(reverse("bulk_import_apply", args=[org.id]), {"token": "x"})
        assert response.status_code == 302 and "totp" in response.url

    def test_a_broken_file_is_400_with_the_reason(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.post(reverse("bulk_import", args=[org.id]),
                               {"file": upload("who,what\n1,2\n")})
        assert response.status_code == 400
        assert "Unknown columns: who, what." in response.content.decode()

    def test_export(self, client, admin_user, org, people):
        client.force_login(admin_user)
        response = client.get(reverse("bulk_export", args=[org.id]))
        assert response["Content-Disposition"].startswith("attachment;")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [r["email"] for r in rows] == ["bob@acme.example", people[0].email]


@pytest.mark.django_db
class TestBulkEditFromThePeopleList:
    def test_the_people_list_has_the_checkboxes_and_the_form(self, client, admin_user, org,
                                                             people):
        client.force_login(admin_user)
        response = client.get(reverse("org_people", args=[org.id]))
        html = response.content.decode()
        assert_clean(response)
        assert f'name="people" value="{people[1].id}" form="bulk-edit"' in html
        assert 'id="bulk-edit"' in html and 'value="busy"' in html
        assert "js/people-select.js" in html

    def test_set_for_the_ticked_people(self, client, admin_user, org, people):
        client.force_login(admin_user)
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [p.id for p in people], "feature": "no_answer", "action": "set",
            "destination": "2001"})
        job = BulkJob.objects.get()
        assert response.url == reverse("bulk_job", args=[job.id])
        run(job.id)
        assert ForwardingSettings.objects.filter(no_answer_enabled=True,
                                                 no_answer_ring_after=3).count() == 2

    @pytest.mark.parametrize("data, where, message", [
        ({"feature": "busy", "action": "off"}, "bulk-edit-errors",
         "Tick at least one person in the list."),
        ({"people": ["1"], "feature": "busy", "action": "set"}, "bulk-destination_error",
         "Enter where the calls should go."),
    ])
    def test_bad_input_comes_back_with_the_error_next_to_its_field(
            self, client, admin_user, org, data, where, message):
        client.force_login(admin_user)
        response = client.post(reverse("bulk_edit", args=[org.id]), data)
        assert response.status_code == 400 and not BulkJob.objects.exists()
        html = response.content.decode()
        assert message in html.split(f'id="{where}"', 1)[1].split("</div>", 1)[0]
        assert_clean(response)

    def test_a_destination_nobody_can_take_starts_no_job_and_keeps_the_form(
            self, client, admin_user, org, people):
        client.force_login(admin_user)
        before = state()
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [p.id for p in people], "feature": "no_answer", "action": "set",
            "destination": "12ab", "q": "", "list_page": ""})
        assert response.status_code == 400 and state() == before
        html = response.content.decode()
        assert "Nothing was started." in html
        # The reason sits under the destination field, once (everybody shares it), and
        # the field keeps what was typed.
        errors = html.split('id="bulk-destination_error"', 1)[1].split("</div>", 1)[0]
        assert errors.count("<li>") == 1, errors
        assert "<li>Enter a phone number, an extension, or a tel: or sip: URI.</li>" in errors
        assert 'value="12ab"' in html
        # The ticks, the chosen forwarding and the action are kept.
        for person in people:
            assert re.search(rf'value="{person.id}" form="bulk-edit"[^>]* checked', html)
        assert re.search(r'<option value="no_answer" selected>', html)
        assert re.search(r'value="set"[^>]*checked', html)

    def test_a_reason_some_people_have_names_them(self, client, admin_user, org, people):
        mia, bob = people
        client.force_login(admin_user)
        # Bob's own number is fine for Mia but a loop for Bob himself: Mia's row goes ahead.
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [bob.id], "feature": "busy", "action": "set",
            "destination": "+12025550102"})
        assert response.status_code == 400 and not BulkJob.objects.exists()
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [mia.id, bob.id], "feature": "busy", "action": "set",
            "destination": "+12025550102"})
        job = BulkJob.objects.get()
        assert response.url == reverse("bulk_job", args=[job.id])
        outcome = dict(job.rows.values_list("person_id", "status"))
        assert outcome == {mia.id: BulkJobRow.PENDING, bob.id: BulkJobRow.INVALID}

    def test_ticks_on_other_pages_of_the_list_are_kept(self, client, admin_user, org, people,
                                                        settings):
        client.force_login(admin_user)
        response = client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [people[0].id, 999_999], "feature": "busy", "action": "set",
            "destination": "12ab", "q": "Bob"})
        html = response.content.decode()
        # The search is kept; Mia is not on this page of the list, her tick rides along.
        assert 'value="Bob"' in html
        assert f'<input type="hidden" name="people" value="{people[0].id}">' in html

    def test_needs_mfa_and_an_admin(self, client, admin_no_mfa, member, org, people):
        data = {"people": [people[1].id], "feature": "busy", "action": "off"}
        client.force_login(admin_no_mfa)
        assert "totp" in client.post(reverse("bulk_edit", args=[org.id]), data).url
        client.force_login(member)
        assert client.post(reverse("bulk_edit", args=[org.id]), data).status_code == 404
        assert not BulkJob.objects.exists()

    def test_a_bulk_edit_that_loops_asks_to_confirm_first(self, client, admin_user, org,
                                                          people):
        """A job applies loop warnings as confirmed: the list comes back naming the loop,
        with the ticks kept and a box to tick; ticked, the job starts."""
        loop_back = make_person(org, name="Loop Back", number="+12025550191")
        update(loop_back, always_enabled=True, always_destination=people[0].phone_number)
        client.force_login(admin_user)
        before = state()
        form = {"people": [people[0].id], "feature": "busy", "action": "set",
                "destination": loop_back.phone_number, "q": "", "list_page": ""}
        response = client.post(reverse("bulk_edit", args=[org.id]), form)
        assert response.status_code == 400 and state() == before
        html = response.content.decode()
        box = html.split('id="bulk-edit-errors"', 1)[1].split("</div>", 1)[0]
        assert "1 change would make a forwarding loop" in box
        assert "calls bounce between" in box and "Loop Back" in box
        assert 'name="confirm_loops"' in html
        assert re.search(rf'value="{people[0].id}" form="bulk-edit"[^>]* checked', html)

        response = client.post(reverse("bulk_edit", args=[org.id]),
                               {**form, "confirm_loops": "yes"})
        assert response.status_code == 302
        assert BulkJob.objects.get().rows.get().status == "pending"


@pytest.mark.django_db
class TestJobPage:
    @pytest.fixture
    def job(self, client, admin_user, org, people):
        client.force_login(admin_user)
        client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [p.id for p in people], "feature": "busy", "action": "set",
            "destination": "2001"})
        client.logout()
        return BulkJob.objects.get()

    @pytest.mark.parametrize("who, status", [("member", 404), ("admin_user", 200),
                                             ("stranger", 404), ("partner_admin", 200)])
    def test_who_may_see_it(self, client, request, delegation, job, who, status):
        client.force_login(request.getfixturevalue(who))
        assert client.get(reverse("bulk_job", args=[job.id])).status_code == status
        assert client.get(reverse("bulk_job_progress", args=[job.id])).status_code == status

    def test_the_page_works_without_javascript(self, client, admin_user, job):
        client.force_login(admin_user)
        response = client.get(reverse("bulk_job", args=[job.id]))
        assert_clean(response)
        html = response.content.decode()
        assert 'data-refresh>Refresh</a>' in html and "js/bulk-progress.js" in html
        assert '<progress id="bar-processed" class="progress" max="2" value="0">' in html
        assert html.count('data-field="outcome">Waiting<') == 2
        run(job.id)
        html = client.get(reverse("bulk_job", args=[job.id])).content.decode()
        assert '<progress id="bar-processed" class="progress" max="2" value="2">' in html
        assert html.count("Saved, being delivered") == 2 and "Undo this job" in html

    def test_the_start_reads_in_the_viewers_zone(self, client, admin_user, org, job):
        """Time zones are activated once per request: the job page's |date follows the
        admin's org's zone, with its abbreviation."""
        org.time_zone = "Asia/Kolkata"
        org.save(update_fields=["time_zone"])
        client.force_login(admin_user)
        html = client.get(reverse("bulk_job", args=[job.id])).content.decode()
        local = job.created_at.astimezone(zone("Asia/Kolkata"))
        assert f"on {local:%a %d %b %Y %H:%M} IST." in html

    def test_progress_json(self, client, admin_user, job, people):
        client.force_login(admin_user)
        url = reverse("bulk_job_progress", args=[job.id])
        assert client.get(url).json()["progress"]["pending"] == 2
        run(job.id)
        ForwardingSettings.objects.filter(person=people[0]).update(
            synced_version=2, sync_status=SyncStatus.SYNCED)
        data = client.get(url).json()
        assert data["status"] == "done" and data["progress"]["pushed"] == 1
        assert [r["outcome"] for r in data["rows"]] == ["pushed", "applied"]
        assert data["rows"][0]["css"] == "synced"

    def test_progress_json_offers_undo_once_done_and_says_done_with_errors(
            self, client, admin_user, job, people):
        client.force_login(admin_user)
        url = reverse("bulk_job_progress", args=[job.id])
        data = client.get(url).json()
        assert data["can_undo"] is False and data["state"]["label"] == "Queued"
        # Bob's row fails at apply time (his settings changed since the plan).
        BulkJobRow.objects.filter(job=job, person=people[1]).update(expected_version=99)
        run(job.id)
        data = client.get(url).json()
        assert data["can_undo"] is True
        assert data["state"] == {"label": "Done with errors", "css": "done-with-errors"}
        html = client.get(reverse("bulk_job", args=[job.id])).content.decode()
        assert '<span class="badge done-with-errors" data-field="state">Done with errors' in html
        assert "synced" not in html.split('data-field="state"', 1)[0].rsplit("<span", 1)[1]
        listing = client.get(reverse("bulk_import", args=[job.org_id])).content.decode()
        assert '<span class="badge done-with-errors">Done with errors</span>' in listing

    def test_row_reasons_use_the_labels_people_see(self, client, admin_user, org, people):
        client.force_login(admin_user)
        mia, bob = people
        client.post(reverse("bulk_edit", args=[org.id]), {
            "people": [mia.id, bob.id], "feature": "busy", "action": "set",
            "destination": "+12025550102"})
        job = BulkJob.objects.get()
        html = client.get(reverse("bulk_job", args=[job.id])).content.decode()
        assert "busy_destination" not in html and "busy_enabled" not in html
        assert "<li>Forward when busy: destination: " in html
        assert "<li>Forward when busy: yes</li>" in html

    def test_undo_and_resume(self, client, admin_user, job):
        client.force_login(admin_user)
        resumed = client.post(reverse("bulk_job_resume", args=[job.id]), follow=True)
        assert "2 waiting rows handed to the workers again." in resumed.content.decode()
        too_early = client.post(reverse("bulk_job_undo", args=[job.id]), follow=True)
        assert "still running" in too_early.content.decode()
        run(job.id)
        # The job page links to the confirmation; the confirmation shows what undo would
        # change and changes nothing itself.
        assert f'href="{reverse("bulk_job_undo", args=[job.id])}"' in client.get(
            reverse("bulk_job", args=[job.id])).content.decode()
        before = state()
        confirm = client.get(reverse("bulk_job_undo", args=[job.id]))
        assert confirm.status_code == 200 and state() == before
        assert_clean(confirm)
        html = confirm.content.decode()
        assert html.count("<h3>") == 2 and 'name="csrfmiddlewaretoken"' in html
        assert "Calls go to extension 2001 when Mia Member is busy." in html
        assert "When Mia Member is busy, calls are not forwarded." in html
        assert f"Yes, undo job #{job.id}" in html
        response = client.post(reverse("bulk_job_undo", args=[job.id]))
        undo = BulkJob.objects.get(kind=BulkJob.UNDO)
        assert response.url == reverse("bulk_job", args=[undo.id])
        run(undo.id)
        assert not ForwardingSettings.objects.filter(busy_enabled=True).exists()
        html = client.get(reverse("bulk_job", args=[job.id])).content.decode()
        assert "Undone by" in html and "Undo this job" not in html


@pytest.mark.django_db
class TestOrgSwitcher:
    def test_a_partner_sees_its_customers_with_their_health(self, client, partner_admin,
                                                             delegation, org, partner_org,
                                                             people):
        update(people[0], busy_enabled=True, busy_destination="2001")
        update(people[1], busy_enabled=True, busy_destination="2001")
        ForwardingSettings.objects.filter(person=people[1]).update(
            sync_status=SyncStatus.FAILED)
        client.force_login(partner_admin)
        response = client.get(reverse("org_switcher"))
        assert_clean(response)
        html = response.content.decode()
        assert html.index("Partner Co") < html.index(org.name)  # own orgs first
        assert "Partner admin, on behalf of <strong>Partner Co</strong>" in html
        assert "1 failed" in html and '<span class="badge pending">1</span>' in html
        people_page = client.get(reverse("org_people", args=[org.id])).content.decode()
        assert "Switch organization" in people_page

    def test_constant_queries(self, client, partner_admin, delegation, org):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from portal.models import Delegation

        client.force_login(partner_admin)
        client.get(reverse("org_switcher"))

        def count():
            with CaptureQueriesContext(connection) as ctx:
                html = client.get(reverse("org_switcher")).content.decode()
            return len(ctx.captured_queries), html

        few, _html = count()
        for n in range(3):
            customer = make_org("webex", name=f"Customer {n}")
            Delegation.objects.create(customer=customer, partner=delegation.partner)
            for _ in range(5):
                update(make_person(customer), busy_enabled=True, busy_destination="2001")
        many, html = count()
        assert "Customer 2" in html and few == many, (few, many)

    def test_a_member_has_no_switcher(self, client, member):
        client.force_login(member)
        assert client.get(reverse("org_switcher")).status_code == 404
