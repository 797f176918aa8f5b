"""What members may change themselves (forwarding.rules.permissions): the services refuse
a member's change to a locked feature, per field and changing nothing; admins and
partners are not bound; values equal to the stored ones are no change; a member's restore
leaves locked features as they are; the admins' service is audited."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from forwarding.models import MEMBER_FEATURES, ForwardingSettings, MemberPermissions, SyncStatus
from forwarding.rules import permissions, previews, services
from forwarding.sync import drift
from portal.audit import Actor
from portal.models import AuditEvent, Membership
from providers.base import ForwardingState
from tests.cast import audit_count, make_person, make_user, update

OFFICE = {"name": "Office hours", "kind": "business_hours",
          "hours": {"monday": [["09:00", "17:00"]], "tuesday": [["09:00", "17:00"]]}}
BERLIN = ZoneInfo("Europe/Berlin")
RULE = {"callers": ["+13035550110"], "destination": "+13035550177"}


def _window():
    start = timezone.now() + timedelta(days=1)
    return {"window_enabled": True, "window_start": start,
            "window_end": start + timedelta(hours=2), "window_destination": "2009"}


# One change per feature (the fields a member would send), and caller rules apart.
CHANGES = {
    "always": lambda: {"always_enabled": True, "always_destination": "+13035550199"},
    "busy": lambda: {"busy_enabled": True, "busy_destination": "2009"},
    "no_answer": lambda: {"no_answer_enabled": True, "no_answer_destination": "2009"},
    "continuity": lambda: {"continuity_enabled": True, "continuity_destination": "2009"},
    "simring": lambda: {"simring_enabled": True, "simring_targets": ["+13035550188"]},
    "time_window": _window,
    "dnd": lambda: {"dnd_enabled": True},
    "schedules": lambda: {"schedules": [OFFICE]},
}
assert set(CHANGES) | {"caller_rules"} == set(MEMBER_FEATURES)


@pytest.fixture
def ada(org, admin_user):
    """Org A's admin, with a name: the one members are told to ask."""
    admin_user.first_name, admin_user.last_name = "Ada", "Admin"
    admin_user.save(update_fields=["first_name", "last_name"])
    return admin_user


def lock(org, *features, by=None):
    actor = Actor.for_user(by) if by is not None else Actor.system("test")
    return permissions.member_permissions_update(org=org, locked=list(features), actor=actor)


def version(person):
    return services.settings_for(person).version


def expected_sentence(org, phrase):
    return (f"Your admins set {phrase} for {org.name}; ask Ada Admin or another admin of "
            f"{org.name}.")


@pytest.mark.django_db
class TestMembersRefused:
    @pytest.mark.parametrize("feature", list(CHANGES))
    def test_a_locked_feature_is_refused_per_field_and_nothing_changes(
            self, org, ada, mia, owner_actor, feature):
        lock(org, feature, by=ada)
        before_version, before_events = version(mia), audit_count()
        changes = CHANGES[feature]()
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, **changes)
        errors = caught.value.message_dict
        assert set(errors) == set(changes)
        for messages in errors.values():
            assert messages == [expected_sentence(org, permissions.FEATURE_PHRASES[feature])]
        assert version(mia) == before_version and audit_count() == before_events

    def test_caller_rules_locked_are_refused_keyed_caller_rules(self, org, ada, mia,
                                                               owner_actor):
        lock(org, "caller_rules", by=ada)
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, rules=[RULE])
        assert caught.value.message_dict == {
            "caller_rules": [expected_sentence(org, "the rules per caller")]}
        assert not services.settings_for(mia).caller_rules.exists()

    def test_the_example_sentence_of_the_brief(self, org, ada, mia, owner_actor):
        org.name = "Acme"
        org.save(update_fields=["name"])
        lock(org, "busy", by=ada)
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2009")
        assert caught.value.message_dict["busy_enabled"] == [
            "Your admins set call forwarding when busy for Acme; ask Ada Admin or another "
            "admin of Acme."]

    def test_the_admin_named_is_who_set_the_permissions_while_still_an_admin(
            self, org, ada, mia, owner_actor):
        grace = make_user("grace@example.com", org=org, role=Membership.ADMIN)
        grace.first_name, grace.last_name = "Grace", "Hopper"
        grace.save()
        lock(org, "dnd", by=grace)
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, dnd_enabled=True)
        assert "ask Grace Hopper or another admin" in caught.value.messages[0]
        Membership.objects.filter(user=grace).update(role=Membership.MEMBER)
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, dnd_enabled=True)
        assert "ask Ada Admin or another admin" in caught.value.messages[0]

    def test_an_org_without_admins_says_ask_an_admin(self, org, mia, owner_actor):
        lock(org, "dnd")
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, dnd_enabled=True)
        assert caught.value.messages == [
            f"Your admins set do not disturb for {org.name}; ask an admin of {org.name}."]

    def test_other_features_stay_editable_and_a_mixed_change_is_refused_whole(
            self, org, ada, mia, owner_actor):
        lock(org, "busy", by=ada)
        saved = update(mia, actor=owner_actor, dnd_enabled=True)
        assert saved.dnd_enabled and saved.version == 2
        with pytest.raises(ValidationError) as caught:
            update(mia, actor=owner_actor, dnd_enabled=False, busy_enabled=True,
                   busy_destination="2009")
        assert set(caught.value.message_dict) == {"busy_enabled", "busy_destination"}
        assert ForwardingSettings.objects.get(person=mia).dnd_enabled


@pytest.mark.django_db
class TestNotBound:
    def test_the_orgs_admin_changes_a_locked_feature_of_a_member(self, org, ada, mia,
                                                                 admin_actor):
        lock(org, *MEMBER_FEATURES, by=ada)
        saved = update(mia, actor=admin_actor, busy_enabled=True, busy_destination="2009",
                       rules=[RULE])
        assert saved.busy_enabled and saved.caller_rules.count() == 1

    def test_a_partner_acting_for_the_org(self, org, ada, mia, partner_org, partner_admin,
                                          delegation):
        lock(org, "busy", by=ada)
        actor = Actor.for_user(partner_admin, via_partner=partner_org)
        assert update(mia, actor=actor, busy_enabled=True, busy_destination="2009").busy_enabled

    def test_an_admin_on_their_own_line(self, org, ada, admin_actor):
        own = make_person(org, user=ada, name="Ada Admin")
        lock(org, "busy", by=ada)
        assert update(own, actor=admin_actor, busy_enabled=True,
                      busy_destination="2009").busy_enabled

    def test_a_partner_admin_on_their_own_line_in_a_customer_org(
            self, org, ada, partner_admin, delegation):
        # Not acting through the partner (it is their own line) but an admin of the org
        # through the delegation: exempt, as the brief's "partner admin acting for it".
        own = make_person(org, user=partner_admin, name="Pat Partner")
        lock(org, "busy", by=ada)
        assert update(own, actor=Actor.for_user(partner_admin), busy_enabled=True,
                      busy_destination="2009").busy_enabled

    def test_the_system(self, org, ada, mia):
        lock(org, "busy", by=ada)
        assert update(mia, busy_enabled=True, busy_destination="2009").busy_enabled

    def test_an_org_that_locked_nothing(self, org, mia, owner_actor):
        MemberPermissions.objects.create(org=org, locked=[])
        assert update(mia, actor=owner_actor, dnd_enabled=True).dnd_enabled

    def test_somebody_elses_line_costs_no_query(self, org, ada, mia,
                                                django_assert_max_num_queries):
        # What bulk jobs and admins' edits pay: nothing.
        lock(org, "busy", by=ada)
        with django_assert_max_num_queries(0):
            assert permissions.locked_for(user=ada, via_partner=None, person=mia) == \
                frozenset()


@pytest.mark.django_db
class TestUntouched:
    def test_values_equal_to_the_stored_ones_are_no_change(self, org, ada, mia, owner_actor,
                                                           admin_actor):
        start = timezone.now() + timedelta(days=1)
        update(mia, actor=admin_actor, busy_enabled=True, busy_destination="+13035550100",
               simring_enabled=True, simring_targets=["+13035550188"],
               window_enabled=True, window_start=start, window_end=start + timedelta(hours=1),
               window_destination="2009", schedules=[OFFICE], rules=[RULE])
        lock(org, *MEMBER_FEATURES, by=ada)
        stored = services.values(services.settings_for(mia))
        # As a form or a client sends them: other spellings of the same numbers, the
        # window's instants in another zone, the same rules and schedules.
        saved = update(
            mia, actor=owner_actor, rules=stored["caller_rules"],
            busy_enabled=True, busy_destination="+1 303 555 0100",
            simring_enabled=True, simring_targets=["(303) 555-0188"],
            window_enabled=True, window_start=start.isoformat(),
            window_end=(start + timedelta(hours=1)).astimezone(BERLIN).isoformat(),
            window_destination="2009", schedules=stored["schedules"],
            dnd_enabled=False, always_enabled=False)
        assert saved.version == version(mia)
        assert not AuditEvent.objects.filter(event="forwarding.updated",
                                             actor=mia.user).exists()

    def test_an_unlocked_change_next_to_untouched_locked_values_is_saved(
            self, org, ada, mia, owner_actor, admin_actor):
        update(mia, actor=admin_actor, busy_enabled=True, busy_destination="2009")
        lock(org, "busy", by=ada)
        saved = update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2009",
                       dnd_enabled=True)
        assert saved.dnd_enabled and saved.busy_destination == "2009"
        event = AuditEvent.objects.filter(event="forwarding.updated").latest("id")
        assert event.data["changed"] == ["dnd_enabled"]


@pytest.mark.django_db
class TestRestore:
    def _history(self, mia, owner_actor, admin_actor):
        first = update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2009",
                       dnd_enabled=True)
        event = AuditEvent.objects.filter(person=mia, event="forwarding.updated").latest("id")
        update(mia, actor=admin_actor, busy_destination="2010", dnd_enabled=False)
        assert first.version == 2
        return event

    def test_a_members_restore_leaves_locked_features_as_they_are(
            self, org, ada, mia, owner_actor, admin_actor):
        event = self._history(mia, owner_actor, admin_actor)
        lock(org, "busy", by=ada)
        preview = previews.restore_preview(mia, event.new, locked=frozenset({"busy"}))
        assert preview["locked"] == [expected_sentence(org, "call forwarding when busy")]
        assert not preview["errors"]
        restored = services.forwarding_restore(person=mia, event=event,
                                               expected_version=version(mia),
                                               actor=owner_actor)
        assert restored.dnd_enabled and restored.busy_destination == "2010"
        row = AuditEvent.objects.filter(event="forwarding.restored").latest("id")
        assert row.data["locked_left_as_they_are"] == ["busy"]

    def test_an_admins_restore_brings_everything_back(self, org, ada, mia, owner_actor,
                                                      admin_actor):
        event = self._history(mia, owner_actor, admin_actor)
        lock(org, "busy", by=ada)
        assert previews.restore_preview(mia, event.new)["locked"] == []
        restored = services.forwarding_restore(person=mia, event=event,
                                               expected_version=version(mia),
                                               actor=admin_actor)
        assert restored.dnd_enabled and restored.busy_destination == "2009"


@pytest.mark.django_db
class TestPermissionsService:
    def test_a_change_is_audited_with_old_and_new(self, org, ada):
        row = lock(org, "schedules", "busy", by=ada)
        assert row.locked == ["busy", "schedules"]  # in the order of the features
        event = AuditEvent.objects.get(event="org.member_permissions_updated")
        assert (event.org, event.actor, event.old, event.new, event.data) == (
            org, ada, {"locked": []}, {"locked": ["busy", "schedules"]},
            {"locked": ["busy", "schedules"], "unlocked": []})
        lock(org, "busy", by=ada)
        latest = AuditEvent.objects.filter(event="org.member_permissions_updated").latest("id")
        assert latest.data == {"locked": [], "unlocked": ["schedules"]}

    def test_the_same_list_writes_nothing(self, org, ada):
        lock(org, "busy", by=ada)
        events = audit_count()
        lock(org, "busy", by=ada)
        assert audit_count() == events
        assert lock(org, by=ada).locked == []  # unlocking everything is a change
        assert audit_count() == events + 1

    def test_nothing_saved_before_any_lock_writes_no_row(self, org, ada):
        assert lock(org, by=ada).pk is None and not MemberPermissions.objects.exists()

    @pytest.mark.parametrize("locked", [["bogus"], "busy", [1]])
    def test_bad_names_are_refused_and_nothing_is_written(self, org, ada, locked):
        with pytest.raises(ValidationError) as caught:
            permissions.member_permissions_update(org=org, locked=locked,
                                                  actor=Actor.for_user(ada))
        assert list(caught.value.message_dict) == ["locked"]
        assert not MemberPermissions.objects.exists() and audit_count() == 0


@pytest.mark.django_db
class TestAdoptDrift:
    """Adopting what the provider's console holds is a write path too."""

    def _drifted(self, mia, admin_actor, theirs):
        row = update(mia, actor=admin_actor, always_enabled=True,
                     always_destination="+13035550100")
        ForwardingSettings.objects.filter(pk=row.pk).update(
            sync_status=SyncStatus.SYNCED, synced_version=row.version,
            drift_state=theirs.to_dict(), drift_detected_at=row.updated_at)
        row.refresh_from_db()
        return row

    def test_a_member_cannot_adopt_a_locked_features_change(self, org, ada, mia, owner_actor,
                                                            admin_actor):
        row = self._drifted(mia, admin_actor, ForwardingState(
            always_enabled=True, always_destination="+13035550999"))
        lock(org, "always", by=ada)
        with pytest.raises(ValidationError) as caught:
            drift.adopt(settings=row, actor=owner_actor)
        assert caught.value.message_dict["always_destination"] == [
            expected_sentence(org, "forwarding of all calls")]
        row.refresh_from_db()
        assert row.always_destination == "+13035550100" and row.drift_state is not None

    def test_the_admin_can(self, org, ada, mia, admin_actor):
        row = self._drifted(mia, admin_actor, ForwardingState(
            always_enabled=True, always_destination="+13035550999"))
        lock(org, "always", by=ada)
        assert drift.adopt(settings=row, actor=admin_actor).always_destination == \
            "+13035550999"
