"""forwarding_update, restore, snapshots, desired_state and the change email."""

import json
from datetime import UTC, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forwarding.models import CallerRule, ForwardingSettings, SyncStatus
from forwarding.rules import selectors, services
from forwarding.sync import outbox
from portal.audit import Actor
from portal.models import AuditEvent
from tests.cast import audit_count, make_org, make_person, update

EVERY_SETTING = {
    "webex": [
        {"always_enabled": True, "always_destination": "+1 303 555 0100",
         "always_ring_reminder": True, "always_voicemail": True},
        {"busy_enabled": True, "busy_destination": "2001", "busy_voicemail": True},
        {"no_answer_enabled": True, "no_answer_destination": "tel:+13035550101",
         "no_answer_ring_after": 5, "no_answer_voicemail": True},
        {"continuity_enabled": True, "continuity_destination": "sip:desk@acme.example",
         "continuity_voicemail": True},
    ],
    "ucwa": [
        {"always_enabled": True, "always_destination": "+1 303 555 0100"},
        {"no_answer_enabled": True, "no_answer_destination": "+13035550101",
         "no_answer_ring_after": 30},
        {"simring_enabled": True, "simring_targets": ["+1 303 555 0102"]},
    ],
    "graph": [
        {"always_enabled": True, "always_destination": "sip:alex@contoso.example"},
        {"simring_enabled": True, "simring_targets": ["+1 303 555 0102", "2002"],
         "simring_timeout": 45},
    ],
    "lync": [
        {"always_enabled": True, "always_destination": "sip:terrya@contoso.example"},
    ],
}
NORMALISED = {"+1 303 555 0100": "+13035550100", "tel:+13035550101": "+13035550101",
              "+1 303 555 0102": "+13035550102"}


def _normalised(value):
    if isinstance(value, list):
        return [NORMALISED.get(v, v) for v in value]
    return NORMALISED.get(value, value) if isinstance(value, str) else value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "changes"),
    [(kind, c) for kind, items in EVERY_SETTING.items() for c in items],
    ids=[f"{kind}-{next(iter(c))}" for kind, items in EVERY_SETTING.items() for c in items],
)
def test_each_setting_type_is_stored_normalised_and_versioned(kind, changes):
    person = make_person(make_org(kind, graph_api_version="beta"))
    settings = update(person, **changes)
    stored = ForwardingSettings.objects.get(person=person)
    assert stored.version == settings.version == 2
    for name, value in changes.items():
        assert getattr(stored, name) == _normalised(value), name
    event = AuditEvent.objects.get(person=person)
    assert event.event == "forwarding.updated"
    assert event.data["changed"] == sorted(changes)


@pytest.mark.django_db
def test_caller_rules_are_stored_in_order_with_normalised_callers(graph_org):
    person = make_person(graph_org)
    update(person, rules=[
        {"callers": ["(303) 555-0110", "SIP:Boss@Contoso.example", "anonymous"],
         "destination": "+1 303 555 0111", "disposition": "redirect", "mask_caller": True},
        {"callers": [], "match_anonymous": True, "destination": "2003",
         "mask_callee": True},
    ])
    rules = list(CallerRule.objects.filter(settings__person=person))
    assert [(r.position, r.callers, r.match_anonymous, r.destination, r.disposition,
             r.mask_caller, r.mask_callee) for r in rules] == [
        (0, ["+13035550110", "sip:boss@contoso.example"], True, "+13035550111", "redirect",
         True, False),
        (1, [], True, "2003", "forward", False, True),
    ]
    # Sending the same rules again changes nothing.
    assert update(person, rules=[
        {"callers": ["+13035550110", "sip:boss@contoso.example"], "match_anonymous": True,
         "destination": "+13035550111", "disposition": "redirect", "mask_caller": True},
        {"match_anonymous": True, "destination": "2003", "mask_callee": True},
    ]).version == 2


@pytest.mark.django_db
def test_the_exact_audit_row_of_an_update(mia, admin_user, admin_actor):
    settings = update(mia, actor=admin_actor, busy_enabled=True, busy_destination="2001")
    event = AuditEvent.objects.get(person=mia)
    empty = services.snapshot(ForwardingSettings(person=mia))
    assert event.event == "forwarding.updated"
    assert event.org_id == mia.org_id
    assert event.actor_id == admin_user.id
    assert event.actor_label == admin_user.email
    assert event.via_partner_id is None
    assert event.ip == "192.0.2.20"
    assert event.person_id == mia.id
    assert event.person_label == "Mia Member"
    assert event.old == {**empty, "version": 1}
    assert event.new == {**empty, "version": 2, "busy_enabled": True,
                         "busy_destination": "2001"}
    assert event.data == {"changed": ["busy_destination", "busy_enabled"], "version": 2}
    assert event.correlation_id == admin_actor.correlation_id
    assert settings.updated_by_label == admin_user.email


@pytest.mark.django_db
def test_a_partner_change_records_the_partner(mia, partner_admin, partner_org, delegation):
    actor = Actor.for_user(partner_admin, ip="198.51.100.7").with_partner(partner_org)
    update(mia, actor=actor, always_enabled=True, always_destination="+13035550100")
    event = AuditEvent.objects.get(person=mia)
    assert event.via_partner_id == partner_org.id
    assert event.actor_label == f"{partner_admin.email} (partner Partner Co)"
    # The push goes out with the partner's credentials until somebody else changes it.
    assert ForwardingSettings.objects.get(person=mia).push_via_partner_id == partner_org.id
    update(mia, actor=Actor.for_user(mia.user), busy_enabled=True, busy_destination="2001")
    assert ForwardingSettings.objects.get(person=mia).push_via_partner_id is None


@pytest.mark.django_db
def test_a_stale_version_is_refused_and_changes_nothing(mia, owner_actor, admin_actor):
    update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2001")  # version 2
    update(mia, actor=admin_actor, busy_destination="2002")  # version 3, the other tab
    with pytest.raises(services.StaleVersion) as exc:
        update(mia, actor=owner_actor, version=2, busy_destination="2009")
    assert exc.value.current_version == 3
    assert str(exc.value) == (
        "Somebody else changed these settings (now version 3) after you opened them. "
        "Review the current settings and try again."
    )
    stored = ForwardingSettings.objects.get(person=mia)
    assert (stored.version, stored.busy_destination) == (3, "2002")
    assert audit_count(mia) == 2


@pytest.mark.django_db
def test_saving_the_same_values_bumps_nothing(mia):
    update(mia, busy_enabled=True, busy_destination="2001")
    settings = update(mia, busy_enabled=True, busy_destination="2001", always_enabled=False)
    assert settings.version == 2
    assert audit_count(mia) == 1


@pytest.mark.django_db
def test_only_changed_fields_are_written(mia):
    update(mia, busy_enabled=True, busy_destination="2001")
    with CaptureQueriesContext(connection) as queries:
        update(mia, busy_enabled=True, busy_destination="2001", always_enabled=True,
               always_destination="+13035550100")
    first_update = next(q["sql"] for q in queries.captured_queries
                        if q["sql"].startswith('UPDATE "forwarding_forwardingsettings"'))
    assert '"always_destination"' in first_update and '"version"' in first_update
    assert '"busy_destination"' not in first_update
    assert '"sync_status"' not in first_update


@pytest.mark.django_db
def test_settings_row_is_created_once_without_asking_for_a_push(mia):
    first = services.settings_for(mia)
    again = services.settings_for(mia)
    assert first.pk == again.pk
    assert (first.version, first.synced_version) == (1, 1)
    assert not ForwardingSettings.objects.behind().filter(pk=first.pk).exists()


@pytest.mark.django_db
def test_an_update_asks_the_pipeline_to_push(mia, owner_actor,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        settings = update(mia, actor=owner_actor, always_enabled=True,
                          always_destination="+13035550100")
    assert settings.sync_status == SyncStatus.PENDING
    assert ForwardingSettings.objects.behind().filter(pk=settings.pk).exists()
    assert len(callbacks) == 1  # the push enqueue (the owner changed it: no email)


@pytest.mark.django_db
def test_call_time_providers_are_marked_not_pushed(graph_org):
    person = make_person(graph_org)
    settings = update(person, always_enabled=True, always_destination="+13035550100")
    assert settings.sync_status == SyncStatus.NOT_PUSHED
    assert settings.synced_version == settings.version == 2


@pytest.mark.django_db
def test_the_change_and_its_audit_row_roll_back_together(mia, monkeypatch):
    def broken_push(settings, **kwargs):
        raise RuntimeError("pipeline down")

    monkeypatch.setattr(outbox, "request_push", broken_push)
    with pytest.raises(RuntimeError):
        update(mia, always_enabled=True, always_destination="+13035550100")
    assert ForwardingSettings.objects.get(person=mia).version == 1
    assert audit_count(mia) == 0


@pytest.mark.django_db
def test_snapshot_holds_every_setting_rules_and_version_as_json(graph_org):
    person = make_person(graph_org)
    start = timezone.now() + timedelta(days=1)
    settings = update(person, window_enabled=True, window_start=start,
                      window_end=start + timedelta(days=2),
                      window_destination="+13035550100",
                      rules=[{"callers": ["+13035550110"], "destination": "+13035550111"}])
    snap = services.snapshot(settings)
    assert json.loads(json.dumps(snap)) == snap
    assert set(snap) == {*services.validation.EDITABLE_FIELDS, "caller_rules", "version",
                         "window_state"}
    assert snap["version"] == 2 and snap["window_state"] == "scheduled"
    assert snap["window_start"] == start.astimezone(UTC).isoformat()
    assert snap["caller_rules"] == [{
        "callers": ["+13035550110"], "match_anonymous": False, "destination": "+13035550111",
        "disposition": "forward", "mask_caller": False, "mask_callee": False,
        "match_all": False, "schedule": "", "schedule_when": "",
    }]
    assert (snap["schedules"], snap["simring_confirm"], snap["dnd_enabled"]) == ([], [], False)


# --- restore ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_restore_brings_back_an_earlier_version_as_a_new_change(mia, owner_actor,
                                                                 admin_actor):
    update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2001")  # v2
    update(mia, actor=owner_actor, busy_destination="2002", always_enabled=True,
           always_destination="+13035550100")  # v3
    v2_event = AuditEvent.objects.get(person=mia, new__version=2)
    settings = services.forwarding_restore(person=mia, event=v2_event, expected_version=3,
                                           actor=admin_actor)
    assert settings.version == 4
    assert (settings.busy_destination, settings.always_enabled) == ("2001", False)
    event = AuditEvent.objects.filter(person=mia).first()
    assert event.event == "forwarding.restored"
    assert (event.org_id, event.person_id, event.person_label) == (mia.org_id, mia.id,
                                                                   "Mia Member")
    assert (event.actor_id, event.actor_label) == (admin_actor.user.id, admin_actor.label)
    assert event.via_partner_id is None
    assert event.ip == "192.0.2.20"
    assert event.correlation_id == admin_actor.correlation_id
    assert event.old["version"] == 3 and event.new["version"] == 4
    assert event.new == {**v2_event.new, "version": 4}
    assert event.data == {"changed": ["always_destination", "always_enabled",
                                      "busy_destination"],
                          "version": 4, "restored_version": 2,
                          "restored_event": v2_event.id}


@pytest.mark.django_db
def test_restore_restores_caller_rules(graph_org):
    person = make_person(graph_org)
    update(person, rules=[{"callers": ["+13035550110"], "destination": "+13035550111"}])
    update(person, rules=[])
    v2 = AuditEvent.objects.get(person=person, new__version=2)
    services.forwarding_restore(person=person, event=v2, expected_version=3,
                                actor=Actor.system("test"))
    assert list(CallerRule.objects.filter(settings__person=person)
                .values_list("destination", flat=True)) == ["+13035550111"]


@pytest.mark.django_db
def test_restore_refuses_stale_versions_and_other_peoples_events(mia, org):
    update(mia, busy_enabled=True, busy_destination="2001")
    update(mia, busy_destination="2002")
    v2 = AuditEvent.objects.get(person=mia, new__version=2)
    with pytest.raises(services.StaleVersion):
        services.forwarding_restore(person=mia, event=v2, expected_version=2,
                                    actor=Actor.system("test"))
    other = make_person(org)
    with pytest.raises(ValidationError):
        services.forwarding_restore(person=other, event=v2, expected_version=1,
                                    actor=Actor.system("test"))
    assert ForwardingSettings.objects.get(person=mia).version == 3
    assert audit_count() == 2


@pytest.mark.django_db
def test_restore_leaves_out_a_time_window_that_is_over(mia):
    now = timezone.now()
    update(mia, window_enabled=True, window_start=now + timedelta(hours=1),
           window_end=now + timedelta(hours=2), window_destination="2001")  # v2
    update(mia, window_enabled=False, busy_enabled=True, busy_destination="2002")  # v3
    v2 = AuditEvent.objects.get(person=mia, new__version=2)
    with time_machine.travel(now + timedelta(days=1), tick=False):
        settings = services.forwarding_restore(person=mia, event=v2, expected_version=3,
                                               actor=Actor.system("test"))
    assert settings.busy_enabled is False and settings.window_enabled is False
    assert AuditEvent.objects.filter(person=mia).first().data["window_skipped"]


# --- desired state ------------------------------------------------------------------------


@pytest.mark.django_db
def test_desired_state_is_the_stored_settings(mia):
    settings = update(mia, busy_enabled=True, busy_destination="2001", busy_voicemail=True)
    state = selectors.desired_state(settings)
    assert (state.busy_enabled, state.busy_destination, state.busy_voicemail) == (
        True, "2001", True)
    assert state.always_enabled is False


@pytest.mark.django_db
def test_desired_state_sends_unsupported_features_as_off(ucwa_org):
    person = make_person(ucwa_org)
    settings = services.settings_for(person)
    settings.busy_enabled, settings.busy_destination = True, "+13035550100"  # stale data
    assert selectors.desired_state(settings).busy_enabled is False


# --- the email ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_somebody_else_changing_my_forwarding_emails_me(mia, member, admin_user, admin_actor,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        update(mia, actor=admin_actor, busy_enabled=True, busy_destination="+13035550100")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member.email]
    assert message.subject == f"{admin_user.email} changed your call forwarding"
    assert "Forward when busy: Calls go to +1 303 555 0100 when you are busy." in message.body
    assert "(before: When you are busy, calls are not forwarded.)" in message.body
    assert "now version 2" in message.body
    assert "/me/" in message.body


@pytest.mark.django_db
def test_changing_my_own_forwarding_sends_no_email(mia, owner_actor,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2001")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_refused_change_sends_no_email(mia, admin_actor,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        update(mia, actor=admin_actor, busy_enabled=True, busy_destination="not a number")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_restore_by_an_admin_emails_the_person(mia, member, owner_actor, admin_actor,
                                                 django_capture_on_commit_callbacks):
    update(mia, actor=owner_actor, busy_enabled=True, busy_destination="2001")
    update(mia, actor=owner_actor, busy_enabled=False)
    v2 = AuditEvent.objects.get(person=mia, new__version=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.forwarding_restore(person=mia, event=v2, expected_version=3,
                                    actor=admin_actor)
    assert len(mail.outbox) == 1
    assert "restored an earlier version of your call forwarding" in mail.outbox[0].subject


@pytest.mark.django_db
def test_a_person_without_a_user_is_emailed_at_their_own_address(org, admin_actor,
                                                                 django_capture_on_commit_callbacks):
    person = make_person(org, email="desk@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        update(person, actor=admin_actor, always_enabled=True,
               always_destination="+13035550100")
    assert [m.to for m in mail.outbox] == [["desk@acme.example"]]
