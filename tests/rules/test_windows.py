"""Time windows: scheduled -> active -> ended, with time travel instead of sleeps. When a
window ends the settings from before it apply again by themselves, and the audit log
says so."""

from datetime import UTC, datetime

import pytest
import time_machine

from forwarding.models import ForwardingSettings
from forwarding.rules import routing, selectors, services
from portal.models import AuditEvent
from tests.cast import make_org, make_person, update

SUNDAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MONDAY_0800 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
FRIDAY_1800 = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)


@pytest.fixture
def scheduled(mia):
    """Mia always-forwards to her desk; from Monday 08:00 until Friday 18:00 her calls go
    to a colleague."""
    with time_machine.travel(SUNDAY, tick=False):
        update(mia, always_enabled=True, always_destination="+13035550100")
        update(mia, window_enabled=True, window_start=MONDAY_0800, window_end=FRIDAY_1800,
               window_destination="+13035550199")
    return mia


def state_at(person, when):
    settings = ForwardingSettings.objects.get(person=person)
    return selectors.desired_state(settings, now=when)


@pytest.mark.django_db
def test_a_new_window_is_scheduled_and_changes_nothing_yet(scheduled):
    settings = ForwardingSettings.objects.get(person=scheduled)
    assert (settings.window_state, settings.version) == ("scheduled", 3)
    state = state_at(scheduled, SUNDAY)
    assert (state.always_enabled, state.always_destination) == (True, "+13035550100")
    with time_machine.travel(SUNDAY, tick=False):
        assert services.windows_tick() == 0


@pytest.mark.django_db
def test_the_window_starts_then_ends_and_the_old_settings_return(scheduled):
    with time_machine.travel(MONDAY_0800, tick=False):
        assert services.windows_tick() == 1
        assert services.windows_tick() == 0  # idempotent
    settings = ForwardingSettings.objects.get(person=scheduled)
    assert (settings.window_state, settings.version) == ("active", 4)
    # The stored always-forward is untouched; only the effective state changes.
    assert settings.always_destination == "+13035550100"
    state = state_at(scheduled, WEDNESDAY)
    assert (state.always_enabled, state.always_destination) == (True, "+13035550199")
    started = AuditEvent.objects.filter(person=scheduled).first()
    assert started.event == "forwarding.window_started"
    assert started.actor_id is None and started.actor_label == "time window"
    assert started.old["window_state"] == "scheduled"
    assert started.new["window_state"] == "active" and started.new["version"] == 4
    assert started.data == {"version": 4, "destination": "+13035550199",
                            "start": MONDAY_0800.isoformat(),
                            "end": FRIDAY_1800.isoformat()}

    with time_machine.travel(FRIDAY_1800, tick=False):
        assert services.windows_tick() == 1
        assert services.windows_tick() == 0
    settings.refresh_from_db()
    assert (settings.window_state, settings.version) == ("ended", 5)
    state = state_at(scheduled, FRIDAY_1800)
    assert (state.always_enabled, state.always_destination) == (True, "+13035550100")
    ended = AuditEvent.objects.filter(person=scheduled).first()
    assert ended.event == "forwarding.window_ended"
    assert (ended.actor_id, ended.actor_label, ended.ip, ended.via_partner_id) == (
        None, "time window", None, None)
    assert (ended.org_id, ended.person_id) == (scheduled.org_id, scheduled.id)
    assert ended.old == {**started.new}
    assert ended.new == {**started.new, "window_state": "ended", "version": 5}
    assert ended.data["note"] == (
        "The time window ended; the settings from before it apply again."
    )
    assert ended.new["version"] == 5


@pytest.mark.django_db
def test_each_move_asks_for_a_push(scheduled):
    with time_machine.travel(MONDAY_0800, tick=False):
        services.windows_tick()
    settings = ForwardingSettings.objects.get(person=scheduled)
    assert settings.sync_status == "pending"
    assert ForwardingSettings.objects.behind().filter(pk=settings.pk).exists()


@pytest.mark.django_db
def test_a_missed_window_goes_straight_to_ended(scheduled):
    with time_machine.travel(datetime(2026, 3, 9, tzinfo=UTC), tick=False):
        assert services.windows_tick() == 1
    events = list(AuditEvent.objects.filter(person=scheduled)
                  .values_list("event", flat=True)[:1])
    assert events == ["forwarding.window_ended"]


@pytest.mark.django_db
def test_routing_follows_the_window_by_the_clock(scheduled):
    rules = routing.rules_for(scheduled)
    during = routing.decide(rules, caller="+13035550000", at=WEDNESDAY, line_state="idle")
    after = routing.decide(rules, caller="+13035550000", at=FRIDAY_1800, line_state="idle")
    assert (during.rule, during.targets) == ("time_window", ["+13035550199"])
    assert (after.rule, after.targets) == ("always", ["+13035550100"])


@pytest.mark.django_db
def test_a_window_starting_now_is_active_at_once(mia):
    with time_machine.travel(WEDNESDAY, tick=False):
        settings = update(mia, window_enabled=True, window_start=MONDAY_0800,
                          window_end=FRIDAY_1800, window_destination="+13035550199")
        assert settings.window_state == "active"
        assert services.windows_tick() == 0


@pytest.mark.django_db
def test_turning_a_window_off_clears_its_state(scheduled):
    with time_machine.travel(SUNDAY, tick=False):
        settings = update(scheduled, window_enabled=False)
    assert settings.window_state == ""
    with time_machine.travel(WEDNESDAY, tick=False):
        assert services.windows_tick() == 0


@pytest.mark.django_db
def test_providers_without_time_windows_are_left_alone():
    person = make_person(make_org("lync"))
    settings = services.settings_for(person)
    # Stored behind the service's back (a provider kind changed, say): never acted on.
    ForwardingSettings.objects.filter(pk=settings.pk).update(
        window_enabled=True, window_start=MONDAY_0800, window_end=FRIDAY_1800,
        window_destination="+13035550199")
    with time_machine.travel(WEDNESDAY, tick=False):
        assert services.windows_tick() == 0
