"""The destination policy in the API: PATCH of a person's forwarding and the bulk edit
(dry run and request) refuse with the reason keyed by field; the policy's own endpoints
(read, replace, remove, exceptions, who breaks it)."""

import pytest

from forwarding.models import BulkJob, DestinationPolicy, ForwardingSettings
from portal.models import AuditEvent
from tests.api.conftest import user_of
from tests.cast import update

LONDON = "+442079460000"
REASON = ("International numbers outside Germany and France are not allowed by Acme's "
          "forwarding policy; ask an org admin for an exception.")


@pytest.fixture
def acme_policy(roles):
    return DestinationPolicy.objects.create(org=roles.org, international_countries=["DE", "FR"])


@pytest.mark.django_db
def test_patch_is_400_with_the_reason_by_field(api, roles, acme_policy,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(roles.member).patch(
            f"/api/v1/people/{roles.mia.id}/forwarding/",
            {"version": 1, "always_enabled": True, "always_destination": LONDON},
            format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"always_destination": [REASON]}
    assert not ForwardingSettings.objects.filter(person=roles.mia, version__gt=1).exists()
    assert AuditEvent.objects.filter(event="policy.violation_refused",
                                     person=roles.mia).count() == 1


@pytest.mark.django_db
def test_bulk_edit_dry_run_and_request(api, roles, acme_policy):
    url = f"/api/v1/organizations/{roles.org.id}/bulk-edit/"
    client = api(roles.admin)
    body = client.post(url, {"people": [roles.mia.id], "feature": "busy", "action": "set",
                             "destination": LONDON, "dry_run": True}, format="json").json()
    assert body["rows"][0]["errors"] == {"busy_destination": [REASON]}
    response = client.post(url, {"people": [roles.mia.id, roles.bob.id], "feature": "busy",
                                 "action": "set", "destination": LONDON}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["destination"] == [REASON]
    assert not BulkJob.objects.exists()
    assert not AuditEvent.objects.filter(event="policy.violation_refused").exists()


# --- the policy's own endpoints --------------------------------------------------------------

POLICY_STATUS = {"anonymous": 401, "member": 404, "admin": 200, "admin_no_mfa": 200,
                 "stranger": 404, "partner": 404, "lonely_partner": 404}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(POLICY_STATUS))
def test_who_may_read_the_policy(api, roles, role):
    response = api(user_of(roles, role)).get(f"/api/v1/organizations/{roles.org.id}/policy/")
    assert response.status_code == POLICY_STATUS[role]
    if response.status_code == 200:
        body = response.json()
        assert body["exists"] is False and body["allow_international"] is True


@pytest.mark.django_db
def test_put_validates_by_field_then_replaces_and_audits(api, roles):
    url = f"/api/v1/organizations/{roles.org.id}/policy/"
    client = api(roles.admin)
    bad = client.put(url, {"international_countries": ["DE", "ZZ"],
                           "deny_patterns": ["0900*"], "sip_domains": ["not a domain"]},
                     format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"international_countries", "deny_patterns",
                                         "sip_domains"}
    assert not DestinationPolicy.objects.exists()
    ok = client.put(url, {"international_countries": ["de", "FR"],
                          "deny_patterns": ["+49 900*"], "allow_mobile": False},
                    format="json")
    assert ok.status_code == 200
    body = ok.json()
    assert body["exists"] and body["international_countries"] == ["DE", "FR"]
    assert body["deny_patterns"] == ["+49900*"] and body["allow_mobile"] is False
    event = AuditEvent.objects.get(event="policy.updated")
    assert event.old is None and event.new["deny_patterns"] == ["+49900*"]
    assert event.actor_id == roles.admin.pk
    assert api(roles.admin_no_mfa).put(url, {}, format="json").status_code == 403
    assert client.delete(url).status_code == 204
    assert not DestinationPolicy.objects.exists()
    assert AuditEvent.objects.filter(event="policy.updated").count() == 2


@pytest.mark.django_db
def test_exceptions_list_create_delete(api, roles, acme_policy):
    url = f"/api/v1/organizations/{roles.org.id}/policy/exceptions/"
    client = api(roles.admin)
    bad = client.post(url, {"person": roles.zed.id, "pattern": "+44*"}, format="json")
    assert bad.status_code == 400 and "person" in bad.json()["errors"]
    bad = client.post(url, {"person": roles.mia.id, "pattern": "44"}, format="json")
    assert bad.status_code == 400 and "pattern" in bad.json()["errors"]
    made = client.post(url, {"person": roles.mia.id, "pattern": "+44*", "note": "UK"},
                       format="json")
    assert made.status_code == 201
    assert made.json()["person_name"] == "Mia Member"
    assert [e["pattern"] for e in client.get(url).json()] == ["+44*"]
    ok = api(roles.member).patch(
        f"/api/v1/people/{roles.mia.id}/forwarding/",
        {"version": 1, "always_enabled": True, "always_destination": LONDON}, format="json")
    assert ok.status_code == 200
    assert client.delete(f"{url}{made.json()['id']}/").status_code == 204
    assert client.delete(f"{url}{made.json()['id']}/").status_code == 404
    assert [e.event for e in AuditEvent.objects.filter(event__startswith="policy.exception")
            .order_by("id")] == ["policy.exception_granted", "policy.exception_revoked"]


@pytest.mark.django_db
def test_forbidden_lists_people_whose_stored_forwarding_breaks_it(api, roles):
    update(roles.bob, always_enabled=True, always_destination=LONDON)
    DestinationPolicy.objects.create(org=roles.org, international_countries=["DE", "FR"])
    client = api(roles.admin)
    body = client.get(f"/api/v1/organizations/{roles.org.id}/policy/forbidden/").json()
    assert body == {"results": [{"person": roles.bob.id, "person_name": "Bob Builder",
                                 "feature": "always", "destination": LONDON,
                                 "reason": REASON}], "next_after": None}
    bad = client.get(f"/api/v1/organizations/{roles.org.id}/policy/forbidden/?after=x")
    assert bad.status_code == 400
