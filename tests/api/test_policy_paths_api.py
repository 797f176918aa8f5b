"""The destination policy through the API's write paths: PATCH of a person's forwarding
and the bulk edit (dry run and request) refuse with the reason keyed by field."""

import pytest

from forwarding.models import BulkJob, DestinationPolicy, ForwardingSettings
from portal.models import AuditEvent

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
