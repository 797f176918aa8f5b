"""Sync actions on the person page: retry now, compare now, resolve drift. Permissions
follow the pages: owner may retry, only admins compare and resolve, strangers get 404."""

import pytest
from django.urls import reverse
from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import services
from portal import audit
from portal.models import AuditEvent, Membership
from tests.cast import make_person, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_row(org, member):
    person = member.people.get()
    row = services.forwarding_update(
        person=person, changes={"always_enabled": True, "always_destination": "+12025550100"},
        expected_version=services.settings_for(person).version,
        actor=audit.Actor.for_user(member),
    )
    ForwardingSettings.objects.filter(pk=row.pk).update(
        sync_status=SyncStatus.FAILED, last_error="Webex refused: test.", next_attempt_at=None)
    row.refresh_from_db()
    return row


def test_owner_retries_a_failed_push(client, member, failed_row):
    client.force_login(member)
    page = client.get(reverse("my_forwarding"))
    assert b"Retry now" in page.content
    assert b"Webex refused: test." in page.content
    response = client.post(reverse("sync_retry", args=[failed_row.person_id]))
    assert response.status_code == 302
    failed_row.refresh_from_db()
    assert failed_row.sync_status == SyncStatus.PENDING
    assert failed_row.last_error == ""
    event = AuditEvent.objects.get(event="push.retry_requested")
    assert (event.actor, event.data["previous_status"]) == (member, "failed")


def test_stranger_cannot_retry_or_resolve(client, org, failed_row, other_org):
    stranger = make_user(org=other_org, role=Membership.ADMIN, mfa=True)
    client.force_login(stranger)
    for name in ("sync_retry", "sync_check", "drift_resolve"):
        assert client.post(reverse(name, args=[failed_row.person_id])).status_code == 404
    failed_row.refresh_from_db()
    assert failed_row.sync_status == SyncStatus.FAILED


def test_member_cannot_compare_or_resolve(client, member, failed_row):
    client.force_login(member)
    assert client.post(reverse("sync_check", args=[failed_row.person_id])).status_code == 404
    assert client.post(reverse("drift_resolve", args=[failed_row.person_id]),
                       {"choice": "override"}).status_code == 404


def test_admin_without_mfa_is_sent_to_set_it_up(client, org, failed_row):
    admin = make_user(org=org, role=Membership.ADMIN, mfa=False)
    client.force_login(admin)
    response = client.post(reverse("sync_retry", args=[failed_row.person_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    failed_row.refresh_from_db()
    assert failed_row.sync_status == SyncStatus.FAILED


def test_admin_sees_drift_and_pushes_ours_again(client, org, admin_user, failed_row):
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        sync_status=SyncStatus.SYNCED, synced_version=failed_row.version, last_error="",
        drift_state={"always_enabled": True, "always_destination": "+12025550999"},
        drift_detected_at=failed_row.updated_at)
    client.force_login(admin_user)
    page = client.get(reverse("person_forwarding", args=[failed_row.person_id]))
    assert b"outside the portal" in page.content
    assert b"Adopt" in page.content
    response = client.post(reverse("drift_resolve", args=[failed_row.person_id]),
                           {"choice": "override"})
    assert response.status_code == 302
    row = ForwardingSettings.objects.get(pk=failed_row.pk)
    assert row.version == failed_row.version + 1
    assert row.drift_state is None
    assert row.sync_status == SyncStatus.PENDING
    assert AuditEvent.objects.filter(event="drift.overridden", actor=admin_user).count() == 1


def test_admin_adopts_the_providers_state(client, org, admin_user, failed_row):
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        sync_status=SyncStatus.SYNCED, synced_version=failed_row.version, last_error="",
        drift_state={"always_enabled": True, "always_destination": "+12025550999"},
        drift_detected_at=failed_row.updated_at)
    client.force_login(admin_user)
    client.post(reverse("drift_resolve", args=[failed_row.person_id]), {"choice": "adopt"})
    row = ForwardingSettings.objects.get(pk=failed_row.pk)
    assert row.always_destination == "+12025550999"
    assert (row.sync_status, row.synced_version) == (SyncStatus.SYNCED, row.version)
    assert AuditEvent.objects.filter(event="drift.adopted").count() == 1


def test_unknown_choice_changes_nothing(client, org, admin_user, failed_row):
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        drift_state={"always_enabled": False})
    client.force_login(admin_user)
    client.post(reverse("drift_resolve", args=[failed_row.person_id]), {"choice": "bogus"})
    row = ForwardingSettings.objects.get(pk=failed_row.pk)
    assert row.version == failed_row.version and row.drift_state == {"always_enabled": False}


def test_other_person_in_org_is_not_the_members(client, org, member):
    other = make_person(org)
    client.force_login(member)
    assert client.post(reverse("sync_retry", args=[other.id])).status_code == 404


# --- the Delivery line the person page's script polls (sync_state) -------------------------


def test_the_owner_polls_their_delivery_line_until_it_settles(client, member, failed_row):
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        sync_status=SyncStatus.PENDING, last_error="")
    client.force_login(member)
    url = reverse("sync_state", args=[failed_row.person_id])
    page = client.get(reverse("my_forwarding")).content.decode()
    assert f'data-state-url="{url}"' in page and 'data-settled="false"' in page
    data = client.get(url).json()
    assert (data["status"], data["label"], data["settled"]) == ("pending", "Pending", False)
    assert '<span class="badge pending">Pending</span>' in data["html"]
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        sync_status=SyncStatus.SYNCED, synced_version=failed_row.version)
    data = client.get(url).json()
    assert (data["status"], data["settled"]) == ("synced", True)
    assert '<span class="badge synced">Synced</span>' in data["html"]


def test_the_delivery_line_says_what_the_last_comparison_found(client, admin_user, failed_row):
    checked = timezone.now().replace(hour=10, minute=42)
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        sync_status=SyncStatus.SYNCED, synced_version=failed_row.version, last_error="",
        drift_checked_at=checked)
    client.force_login(admin_user)
    url = reverse("sync_state", args=[failed_row.person_id])
    data = client.get(url).json()
    local = timezone.localtime(checked)
    at = (f"{local:%H:%M} {local.tzname()}" if local.date() == timezone.localdate()
          else f"{local:%a %d %b %H:%M} {local.tzname()}")
    assert data["compare"] == f"Checked at {at}: matches Webex Calling."
    assert data["checked_at"] == checked.isoformat()
    assert data["compare"] in client.get(
        reverse("person_forwarding", args=[failed_row.person_id])).content.decode()
    ForwardingSettings.objects.filter(pk=failed_row.pk).update(
        drift_state={"always_enabled": True, "always_destination": "+12025550999"})
    data = client.get(url).json()
    assert data["compare"] == f"Checked at {at}: Webex Calling differs from the portal (see below)."
    assert "outside the portal" in data["html"]


def test_a_stranger_cannot_poll_the_delivery_line(client, other_org, failed_row):
    stranger = make_user(org=other_org, role=Membership.ADMIN, mfa=True)
    client.force_login(stranger)
    assert client.get(reverse("sync_state", args=[failed_row.person_id])).status_code == 404
