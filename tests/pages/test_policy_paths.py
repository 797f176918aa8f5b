"""The destination policy through the pages: each write path refuses a forbidden
destination with the policy's reason where it belongs (next to the field, in the bulk
edit's errors, on the CSV row, in the message of a restore or adoption) and changes
nothing."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from forwarding.models import BulkJob, DestinationPolicy, ForwardingSettings
from portal.models import AuditEvent
from tests.cast import make_person, update
from tests.pages.test_views import form_data

LONDON = "+442079460000"
PARIS = "+33123456789"


def reason(org):
    return (f"International numbers outside Germany and France are not allowed by "
            f"{org.name}&#x27;s forwarding policy; ask an org admin for an exception.")


@pytest.fixture
def acme_policy(org):
    return DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])


def version_of(person):
    row = ForwardingSettings.objects.filter(person=person).first()
    return row.version if row else 1


def field_error(html, field):
    match = re.search(rf'id="id_{field}_error">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.django_db
def test_my_forwarding_refuses_next_to_the_field_and_audits(
        client, member, mia, org, acme_policy, django_capture_on_commit_callbacks):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("my_forwarding"), form_data(
            mia, always_enabled=True, always_destination=LONDON))
    assert response.status_code == 400
    assert reason(org) in field_error(response.content.decode(), "always_destination")
    assert version_of(mia) == 1
    event = AuditEvent.objects.get(event="policy.violation_refused")
    assert (event.person_id, event.actor_id) == (mia.pk, member.pk)


@pytest.mark.django_db
def test_the_person_page_refuses_an_admins_edit_next_to_the_field(
        client, admin_user, mia, org, acme_policy):
    client.force_login(admin_user)
    response = client.post(reverse("person_forwarding", args=[mia.id]), form_data(
        mia, busy_enabled=True, busy_destination=LONDON))
    assert response.status_code == 400
    assert reason(org) in field_error(response.content.decode(), "busy_destination")
    assert version_of(mia) == 1
    ok = client.post(reverse("person_forwarding", args=[mia.id]), form_data(
        mia, busy_enabled=True, busy_destination=PARIS))
    assert ok.status_code == 302 and version_of(mia) == 2


@pytest.mark.django_db
def test_restore_through_the_page_says_why(client, admin_user, mia, org):
    update(mia, busy_enabled=True, busy_destination=LONDON)
    update(mia, busy_enabled=False)
    DestinationPolicy.objects.create(org=org, international_countries=["DE", "FR"])
    v2 = AuditEvent.objects.get(person=mia, new__version=2)
    client.force_login(admin_user)
    response = client.post(reverse("person_restore", args=[mia.id]),
                           {"event": v2.id, "version": 3}, follow=True)
    assert reason(org) in response.content.decode()
    assert version_of(mia) == 3


@pytest.mark.django_db
def test_adopting_through_the_page_says_why(client, admin_user, mia, org, acme_policy):
    update(mia, busy_enabled=True, busy_destination="2001")
    ForwardingSettings.objects.filter(person=mia).update(
        drift_state={"always_enabled": True, "always_destination": LONDON})
    client.force_login(admin_user)
    response = client.post(reverse("drift_resolve", args=[mia.id]), {"choice": "adopt"},
                           follow=True)
    assert reason(org) in response.content.decode()
    row = ForwardingSettings.objects.get(person=mia)
    assert row.version == 2 and row.drift_state is not None


@pytest.mark.django_db
def test_bulk_edit_page_refuses_with_the_reason_under_the_destination(
        client, admin_user, org, acme_policy):
    people = [make_person(org) for _ in range(2)]
    client.force_login(admin_user)
    response = client.post(reverse("bulk_edit", args=[org.id]), {
        "people": [p.id for p in people], "feature": "busy", "action": "set",
        "destination": LONDON, "q": "", "list_page": ""})
    assert response.status_code == 400 and not BulkJob.objects.exists()
    html = response.content.decode()
    errors = html.split('id="bulk-destination_error"', 1)[1].split("</div>", 1)[0]
    assert reason(org) in errors


@pytest.mark.django_db
def test_csv_import_dry_run_puts_the_reason_on_the_row(client, admin_user, org, acme_policy):
    make_person(org, email="p1@acme.example")
    client.force_login(admin_user)
    text = f"email,busy_enabled,busy_destination\np1@acme.example,yes,{LONDON}\n"
    response = client.post(reverse("bulk_import", args=[org.id]), {
        "file": SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")})
    assert response.status_code == 200
    assert reason(org) in response.content.decode()
    assert not AuditEvent.objects.exists()
