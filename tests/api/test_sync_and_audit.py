"""Sync state and "retry now"; the audit events list with its filters and visibility."""

from datetime import timedelta

import pytest
from django.utils import timezone

from forwarding.models import ForwardingSettings, SyncStatus
from portal.models import AuditEvent
from tests.cast import update

from .conftest import ROLES, user_of


def fail(person, error="Webex refused: this person is not enabled for calling"):
    ForwardingSettings.objects.filter(person=person).update(
        sync_status=SyncStatus.FAILED, last_error=error, sync_attempts=8,
        next_attempt_at=None)


@pytest.mark.django_db
class TestSync:
    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 200),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_read(self, api, roles, role, status):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        fail(roles.bob)
        response = api(user_of(roles, role)).get(f"/api/v1/people/{roles.bob.id}/sync/")
        assert response.status_code == status
        if status == 200:
            body = response.json()
            assert body["status"] == "failed" and body["behind"] is True
            assert body["last_error"].startswith("Webex refused")
            assert body["version"] == 2 and body["synced_version"] == 1
            assert (body["via_partner"] is not None) == (role == "partner")
            assert (body["acting_for"] == {"id": roles.org.id, "name": "Acme"}) == (
                role == "partner")

    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 403),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_retry_now(self, api, roles, role, status):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        fail(roles.bob)
        response = api(user_of(roles, role)).post(f"/api/v1/people/{roles.bob.id}/sync/retry/")
        assert response.status_code == status
        row = ForwardingSettings.objects.get(person=roles.bob)
        requested = AuditEvent.objects.filter(event="push.retry_requested", person=roles.bob)
        if status == 200:
            assert response.json()["status"] == "pending" and row.last_error == ""
            event = requested.get()
            assert event.data["previous_status"] == "failed"
            assert (event.via_partner is not None) == (role == "partner")
        else:
            assert row.sync_status == SyncStatus.FAILED and not requested.exists()

    def test_a_member_retries_their_own_line_without_mfa(self, api, roles):
        update(roles.mia, busy_enabled=True, busy_destination="2001")
        fail(roles.mia)
        response = api(roles.member).post(f"/api/v1/people/{roles.mia.id}/sync/retry/")
        assert response.status_code == 200 and response.json()["status"] == "pending"

    def test_nothing_stored_yet(self, api, roles):
        client = api(roles.admin)
        assert client.get(f"/api/v1/people/{roles.bob.id}/sync/").json()["status"] == "none"
        assert client.post(f"/api/v1/people/{roles.bob.id}/sync/retry/").status_code == 404

    def test_nothing_to_retry_when_delivered(self, api, roles):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        ForwardingSettings.objects.filter(person=roles.bob).update(
            synced_version=2, sync_status=SyncStatus.SYNCED)
        response = api(roles.admin).post(f"/api/v1/people/{roles.bob.id}/sync/retry/")
        assert response.status_code == 200 and response.json()["status"] == "synced"
        assert not AuditEvent.objects.filter(event="push.retry_requested").exists()


@pytest.mark.django_db
class TestAuditEvents:
    @pytest.fixture
    def history(self, roles):
        update(roles.mia, busy_enabled=True, busy_destination="2001")
        update(roles.bob, busy_enabled=True, busy_destination="2002")
        update(roles.zed, busy_enabled=True, busy_destination="2003")
        return roles

    # Role -> person labels of the forwarding events they may read.
    VISIBLE = {
        "member": {"Mia Member"},
        "admin": {"Mia Member", "Bob Builder"},
        "admin_no_mfa": {"Mia Member", "Bob Builder"},
        "stranger": {"Zed Other"},
        "partner": {"Mia Member", "Bob Builder"},
        "lonely_partner": set(),
    }

    @pytest.mark.parametrize("role", ROLES)
    def test_visibility(self, api, history, role):
        response = api(user_of(history, role)).get("/api/v1/audit-events/",
                                                   {"event": "forwarding.updated"})
        if role == "anonymous":
            assert response.status_code == 401
            return
        assert response.status_code == 200
        assert {e["person_label"] for e in response.json()["results"]} == self.VISIBLE[role]

    def test_filters(self, api, history):
        client = api(history.admin)
        by_person = client.get("/api/v1/audit-events/", {"person": history.bob.id}).json()
        assert [e["person_label"] for e in by_person["results"]] == ["Bob Builder"]
        event = by_person["results"][0]
        assert event["event"] == "forwarding.updated" and event["label"] == "Settings changed"
        assert event["new"]["busy_destination"] == "2002" and event["org"]["name"] == "Acme"
        update(history.bob, actor=None, busy_destination="2005")
        from portal.audit import Actor

        update(history.bob, actor=Actor.for_user(history.admin), busy_destination="2006")
        by_actor = client.get("/api/v1/audit-events/", {"actor": history.admin.id}).json()
        assert [e["new"]["busy_destination"] for e in by_actor["results"]] == ["2006"]
        now = timezone.now()
        assert client.get("/api/v1/audit-events/", {
            "since": (now + timedelta(minutes=1)).isoformat()}).json()["count"] == 0
        assert client.get("/api/v1/audit-events/", {
            "until": (now - timedelta(minutes=1)).isoformat()}).json()["count"] == 0
        in_range = client.get("/api/v1/audit-events/", {
            "since": (now - timedelta(minutes=1)).isoformat(),
            "until": (now + timedelta(minutes=1)).isoformat(), "event": "forwarding.updated",
            "org": history.org.id}).json()
        assert in_range["count"] == 4

    def test_a_partners_change_shows_on_whose_behalf(self, api, history):
        api(history.partner).patch(f"/api/v1/people/{history.bob.id}/forwarding/", {
            "version": 2, "busy_destination": "2009"}, format="json")
        events = api(history.admin).get("/api/v1/audit-events/", {
            "person": history.bob.id}).json()["results"]
        assert events[0]["via_partner"] == {"id": history.partner_org.id, "name": "Partner Co"}
        assert events[0]["actor_label"].endswith("(partner Partner Co)")

    def test_bad_filters(self, api, history):
        now = timezone.now()
        client = api(history.admin)
        response = client.get("/api/v1/audit-events/", {
            "since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()})
        assert response.status_code == 400 and list(response.json()["errors"]) == ["until"]
        response = client.get("/api/v1/audit-events/", {"person": "bob", "since": "soon"})
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"person", "since"}
