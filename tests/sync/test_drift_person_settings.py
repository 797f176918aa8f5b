"""Drift of issue 16's resources: a read-back that holds what the portal's rules cannot
represent (a Webex "don't forward" rule, a location schedule) cannot be adopted, with
the provider's sentences and nothing changed; pushing ours over it still works."""

import pytest
from django.core.exceptions import ValidationError

from forwarding.models import ForwardingSettings, SyncStatus
from forwarding.rules import services
from forwarding.sync import drift
from portal import audit
from portal.models import AuditEvent
from providers.base import ForwardingState

pytestmark = pytest.mark.django_db

PROBLEM = "A Webex selective-forward rule says 'do not forward'; the portal has no such rule."


@pytest.fixture
def drifted(member):
    person = member.people.get()
    row = services.forwarding_update(
        person=person, changes={"always_enabled": True, "always_destination": "+12025550100"},
        expected_version=services.settings_for(person).version,
        actor=audit.Actor.for_user(member))
    theirs = ForwardingState(always_enabled=True, always_destination="+12025550999",
                             readback_problems=(PROBLEM,))
    ForwardingSettings.objects.filter(pk=row.pk).update(
        sync_status=SyncStatus.SYNCED, synced_version=row.version,
        drift_state=theirs.to_dict(), drift_detected_at=row.updated_at)
    row.refresh_from_db()
    return row


def test_adopting_what_the_portal_cannot_represent_is_refused(drifted, admin_user):
    with pytest.raises(ValidationError) as caught:
        drift.adopt(settings=drifted, actor=audit.Actor.for_user(admin_user))
    assert caught.value.messages == [PROBLEM]
    row = ForwardingSettings.objects.get(pk=drifted.pk)
    assert (row.version, row.always_destination) == (drifted.version, "+12025550100")
    assert row.drift_state is not None
    assert not AuditEvent.objects.filter(event="drift.adopted").exists()


def test_pushing_ours_over_it_still_works(drifted, admin_user):
    drift.override(settings=drifted, actor=audit.Actor.for_user(admin_user))
    row = ForwardingSettings.objects.get(pk=drifted.pk)
    assert row.drift_state is None and row.version == drifted.version + 1
    assert row.sync_status == SyncStatus.PENDING


def test_the_problems_survive_the_stored_drift_state():
    state = ForwardingState(readback_problems=(PROBLEM,))
    assert ForwardingState.from_dict(state.to_dict()) == state
