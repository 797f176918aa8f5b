"""The destination policy pages: the org's policy form (errors next to fields, audited),
the people it forbids today with the bulk fix (a dry run, then the bulk edit's job), and
the exceptions card of the person page."""

import re

import pytest
from django.urls import reverse

from forwarding.models import BulkJob, DestinationPolicy, ForwardingSettings, PolicyException
from portal.models import AuditEvent
from tests.cast import make_person, update
from tests.pages.test_views import assert_page_is_clean, form_data

LONDON = "+442079460000"


def field_error(html, field):
    match = re.search(rf'id="id_{field}_error"[^>]*>(.*?)</div>', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.django_db
def test_the_settings_page_links_to_the_policy(client, admin_user, org):
    client.force_login(admin_user)
    html = client.get(reverse("org_settings", args=[org.id])).content.decode()
    assert reverse("org_policy", args=[org.id]) in html


@pytest.mark.django_db
def test_the_policy_form_shows_errors_next_to_fields_and_saves_nothing(client, admin_user,
                                                                      org):
    client.force_login(admin_user)
    page = client.get(reverse("org_policy", args=[org.id]))
    assert page.status_code == 200 and 'id="no-policy"' in page.content.decode()
    assert_page_is_clean(page)
    response = client.post(reverse("org_policy", args=[org.id]), {
        "allow_international": "on", "international_countries": "DE, Narnia",
        "deny_patterns": "+49900*\n0900"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "NARNIA" in field_error(html, "international_countries")
    assert "Line 2: &#x27;0900&#x27; is not a pattern" in field_error(html, "deny_patterns")
    assert not DestinationPolicy.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_saving_lists_the_people_it_now_forbids_and_the_fix_is_a_dry_run_first(
        client, admin_user, org, monkeypatch):
    people = [make_person(org, name=f"P{n}") for n in range(3)]
    for person in people[:2]:
        update(person, always_enabled=True, always_destination=LONDON)
    update(people[2], busy_enabled=True, busy_destination="+33123456789")
    client.force_login(admin_user)
    response = client.post(reverse("org_policy", args=[org.id]), {
        "allow_internal": "on", "allow_national": "on", "allow_mobile": "on",
        "allow_international": "on", "international_countries": "de\nfr", "allow_sip": "on",
        "members_outside_org": "on"}, follow=True)
    html = response.content.decode()
    assert "Policy saved." in html
    listing = html.split('id="forbidden"', 1)[1]
    assert "P0" in listing and "P1" in listing and "P2" not in listing
    assert "outside Germany and France" in listing
    assert "Turn off “Always forward” for 2 people" in listing
    event = AuditEvent.objects.get(event="policy.updated")
    assert event.new["international_countries"] == ["DE", "FR"] and event.old is None

    fix = client.get(reverse("org_policy_fix", args=[org.id]), {"feature": "always"})
    page = fix.content.decode()
    assert "Nothing has been saved." in page and "Start the bulk job for 2 people" in page
    assert not BulkJob.objects.exists()
    assert_page_is_clean(fix)
    ids = re.findall(r'name="people" value="(\d+)"', page)
    started = client.post(reverse("bulk_edit", args=[org.id]), {
        "people": ids, "feature": "always", "action": "off"})
    job = BulkJob.objects.get()
    assert started.url == reverse("bulk_job", args=[job.id])
    assert job.rows.count() == 2 and job.description == "Always forward: turned off for 2 people"


@pytest.mark.django_db
def test_exceptions_on_the_person_page(client, admin_user, member, mia, org):
    client.force_login(member)
    assert 'id="policy-heading"' not in client.get(reverse("my_forwarding")).content.decode()
    client.force_login(admin_user)
    page = client.get(reverse("person_forwarding", args=[mia.id])).content.decode()
    assert 'id="policy-heading"' in page and "None." in page
    bad = client.post(reverse("person_policy_exception", args=[mia.id]), {"pattern": "44"})
    assert bad.status_code == 400
    assert "Write a pattern as +" in field_error(bad.content.decode(), "pattern")
    assert not PolicyException.objects.exists()
    client.post(reverse("person_policy_exception", args=[mia.id]),
                {"pattern": "+44*", "note": "London office"})
    page = client.get(reverse("person_forwarding", args=[mia.id])).content.decode()
    assert "+44* (London office), granted by" in page
    exception = PolicyException.objects.get()
    client.post(reverse("person_policy_exception_revoke", args=[mia.id, exception.id]))
    assert not PolicyException.objects.exists()
    assert [e.event for e in AuditEvent.objects.filter(person=mia).order_by("id")] == [
        "policy.exception_granted", "policy.exception_revoked"]


@pytest.mark.django_db
def test_members_see_only_their_refusal(client, member, mia, org):
    DestinationPolicy.objects.create(org=org, members_outside_org=False)
    client.force_login(member)
    response = client.post(reverse("my_forwarding"), form_data(
        mia, busy_enabled=True, busy_destination="+13035550100"))
    assert response.status_code == 400
    assert "lets members forward only inside the organization" in field_error(
        response.content.decode(), "busy_destination")
    assert not ForwardingSettings.objects.filter(person=mia, version__gt=1).exists()
    assert client.get(reverse("org_policy", args=[org.id])).status_code == 404
