"""Validation of schedules, scheduled caller rules, rules for every caller, do not disturb
and answer confirmation: every refusal is keyed by the field (a schedule's part as
"schedules-<i>-<field>", a rule's as "caller_rules-<i>-<field>"), and nothing is written."""

import pytest
from django.core.exceptions import ValidationError

from forwarding.models import ForwardingSettings
from forwarding.rules import schedules as schedule_checks
from forwarding.rules import selectors, services
from portal.models import AuditEvent
from providers.base import CallerRuleState, ScheduleState
from tests.cast import audit_count, make_org, make_person, update

OFFICE = {"name": "Office hours", "kind": "business_hours",
          "hours": {"monday": [["09:00", "17:00"]], "friday": [["9:00", "12:00"]]}}
HOLIDAYS = {"name": "Holidays", "kind": "holidays",
            "dates": [{"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26",
                       "yearly": True}]}
OUTSIDE_RULE = {"match_all": True, "destination": "+13035550100", "schedule": "Office hours",
                "schedule_when": "outside"}


def refused(person, **kwargs) -> dict:
    before_version = services.settings_for(person).version
    before_audit = audit_count()
    with pytest.raises(ValidationError) as exc:
        update(person, **kwargs)
    assert ForwardingSettings.objects.get(person=person).version == before_version
    assert audit_count() == before_audit
    return exc.value.message_dict


@pytest.fixture
def webex_person(db):
    return make_person(make_org("webex", time_zone="America/New_York"))


@pytest.mark.django_db
class TestSchedules:
    def test_schedules_are_stored_normalised(self, webex_person):
        settings = update(webex_person, schedules=[
            {"name": "  Office   hours ", "kind": "business_hours",
             "hours": {"monday": [["13:00", "17:00"], ["9:00", "12:00"]],
                       "tuesday": []}},
            {"name": "Holidays", "kind": "holidays",
             "dates": [{"name": "Boxing day", "start": "2026-12-26"},
                       {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-25",
                        "yearly": True}]},
        ])
        assert settings.schedules == [
            {"name": "Office hours", "kind": "business_hours",
             "hours": {"monday": [["09:00", "12:00"], ["13:00", "17:00"]]}},
            {"name": "Holidays", "kind": "holidays", "dates": [
                {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-25",
                 "yearly": True},
                {"name": "Boxing day", "start": "2026-12-26", "end": "2026-12-26",
                 "yearly": False}]},
        ]
        event = AuditEvent.objects.filter(person=webex_person).first()
        assert event.data["changed"] == ["schedules"]
        assert event.new["schedules"] == settings.schedules

    @pytest.mark.parametrize(("schedules", "key", "fragment"), [
        ([{"name": "", "kind": "business_hours", "hours": {"monday": [["09:00", "17:00"]]}}],
         "schedules-0-name", "enter a name"),
        ([{"name": "x" * 81, "kind": "holidays",
           "dates": [{"name": "a", "start": "2026-01-01"}]}],
         "schedules-0-name", "at most 80"),
        ([OFFICE, {**OFFICE, "name": "OFFICE HOURS"}], "schedules-1-name",
         "has this name already"),
        ([{"name": "A", "kind": "weekly"}], "schedules-0-kind", "business hours or holidays"),
        ([{"name": "A", "kind": "business_hours", "hours": {"monday": [["17:00", "09:00"]]}}],
         "schedules-0-monday", "end must be after the start"),
        ([{"name": "A", "kind": "business_hours", "hours": {"monday": [["09:00", "09:00"]]}}],
         "schedules-0-monday", "end must be after the start"),
        ([{"name": "A", "kind": "business_hours", "hours": {"monday": [["9", "17:00"]]}}],
         "schedules-0-monday", "hh:mm"),
        ([{"name": "A", "kind": "business_hours", "hours": {"monday": [["24:00", "24:00"]]}}],
         "schedules-0-monday", "hh:mm"),
        ([{"name": "A", "kind": "business_hours", "hours": {"monday": [["09:60", "10:00"]]}}],
         "schedules-0-monday", "hh:mm"),
        ([{"name": "A", "kind": "business_hours",
           "hours": {"tuesday": [["09:00", "12:00"], ["11:30", "17:00"]]}}],
         "schedules-0-tuesday", "overlap"),
        ([{"name": "A", "kind": "business_hours", "hours": {"funday": [["09:00", "12:00"]]}}],
         "schedules-0-hours", "not a day of the week"),
        ([{"name": "A", "kind": "business_hours", "hours": {}}], "schedules-0-hours",
         "at least one day"),
        ([{"name": "A", "kind": "business_hours", "hours": "9-5"}], "schedules-0-hours",
         "set of days"),
        ([{"name": "A", "kind": "holidays", "dates": []}], "schedules-0-dates",
         "at least one date"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-02-30"}]}], "schedules-0-dates",
         "yyyy-mm-dd"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-12-26", "end": "2026-12-25"}]}],
         "schedules-0-dates", "last day is before the first"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-01-01", "end": "2027-01-01",
                      "yearly": True}]}],
         "schedules-0-dates", "less than a year"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-01-01"}, {"name": "x",
                                                            "start": "2026-02-01"}]}],
         "schedules-0-dates", "another date has this name"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-01-01", "yearly": "yes"}]}],
         "schedules-0-dates", "yes or no"),
        ([{"name": "A", "kind": "holidays", "colour": "red",
           "dates": [{"name": "X", "start": "2026-01-01"}]}],
         "schedules-0-colour", "not a schedule setting"),
        ("Office hours", "schedules", "as a list"),
        ([{"name": f"S{i}", "kind": "holidays",
           "dates": [{"name": "X", "start": "2026-01-01"}]} for i in range(21)],
         "schedules", "at most 20"),
        ([{"name": "A", "kind": "holidays",
           "dates": [{"name": f"D{i}", "start": "2026-01-01"} for i in range(101)]}],
         "schedules-0-dates", "at most 100"),
    ])
    def test_bad_schedules_are_refused_next_to_their_part(self, webex_person, schedules,
                                                          key, fragment):
        errors = refused(webex_person, schedules=schedules)
        assert key in errors, errors
        assert fragment in " ".join(errors[key]).lower(), errors[key]

    def test_24_00_ends_a_day(self, webex_person):
        settings = update(webex_person, schedules=[
            {"name": "Evening", "kind": "business_hours",
             "hours": {"saturday": [["20:00", "24:00"]], "sunday": [["00:00", "08:00"]]}}])
        assert settings.schedules[0]["hours"]["saturday"] == [["20:00", "24:00"]]

    def test_touching_intervals_are_not_an_overlap(self, webex_person):
        update(webex_person, schedules=[{"name": "Split", "kind": "business_hours", "hours": {
            "monday": [["09:00", "12:00"], ["12:00", "17:00"]]}}])

    @pytest.mark.parametrize(("kind", "fragment"), [
        ("lync", "no clock or calendar functions"),
        ("ucwa", "work hours of the person's outlook calendar"),
    ])
    def test_providers_without_schedules_refuse_them(self, kind, fragment):
        person = make_person(make_org(kind))
        errors = refused(person, schedules=[OFFICE])
        assert fragment in errors["schedules"][0].lower()

    def test_graph_takes_schedules(self):
        person = make_person(make_org("graph"))
        assert update(person, schedules=[OFFICE, HOLIDAYS]).schedules[1]["name"] == "Holidays"


@pytest.mark.django_db
class TestScheduledRules:
    def test_a_rule_outside_office_hours_for_every_caller(self, webex_person):
        settings = update(webex_person, schedules=[OFFICE], rules=[
            {**OUTSIDE_RULE, "schedule": "office HOURS"}])
        rule = settings.caller_rules.get()
        assert (rule.match_all, rule.callers, rule.schedule, rule.schedule_when) == (
            True, [], "Office hours", "outside")

    def test_schedules_and_rules_together_in_one_change(self, webex_person):
        update(webex_person, schedules=[OFFICE, HOLIDAYS], rules=[
            {"callers": ["+1 303 555 0111"], "destination": "+13035550100",
             "schedule": "Holidays", "schedule_when": "during"}])

    def test_the_schedule_must_exist(self, webex_person):
        update(webex_person, schedules=[OFFICE])
        errors = refused(webex_person, rules=[{**OUTSIDE_RULE, "schedule": "Lunch"}])
        assert errors == {"caller_rules-0-schedule": [
            "There is no schedule called Lunch (the schedules: Office hours)."]}

    def test_during_or_outside_is_required_with_a_schedule(self, webex_person):
        update(webex_person, schedules=[OFFICE])
        errors = refused(webex_person, rules=[{**OUTSIDE_RULE, "schedule_when": ""}])
        assert "during or outside" in errors["caller_rules-0-schedule_when"][0]
        errors = refused(webex_person, rules=[{**OUTSIDE_RULE, "schedule_when": "around"}])
        assert "caller_rules-0-schedule_when" in errors

    def test_during_without_a_schedule_is_refused(self, webex_person):
        errors = refused(webex_person, rules=[{**OUTSIDE_RULE, "schedule": ""}])
        assert "Choose the schedule" in errors["caller_rules-0-schedule"][0]

    def test_match_all_excludes_callers(self, webex_person):
        errors = refused(webex_person, rules=[{"match_all": True, "callers": ["+13035550111"],
                                               "destination": "+13035550100"}])
        assert "every caller" in errors["caller_rules-0-callers"][0]
        errors = refused(webex_person, rules=[{"match_all": "yes",
                                               "destination": "+13035550100"}])
        assert errors["caller_rules-0-match_all"] == ["Choose yes or no."]

    def test_a_rule_needs_callers_or_match_all(self, webex_person):
        errors = refused(webex_person, rules=[{"destination": "+13035550100"}])
        assert "every caller" in errors["caller_rules-0-callers"][0]

    def test_a_schedule_a_rule_uses_cannot_be_removed_or_renamed(self, webex_person):
        update(webex_person, schedules=[OFFICE, HOLIDAYS], rules=[OUTSIDE_RULE])
        errors = refused(webex_person, schedules=[HOLIDAYS])
        assert errors == {"schedules": [
            "Office hours is used by caller rule 1: change or remove that rule first."]}
        errors = refused(webex_person, schedules=[{**OFFICE, "name": "Work"}, HOLIDAYS])
        assert "Office hours is used by caller rule 1" in errors["schedules"][0]
        # The unused one may go, and the used one with its rule in the same change.
        update(webex_person, schedules=[OFFICE])
        update(webex_person, schedules=[], rules=[])

    def test_lync_rules_take_no_schedule(self):
        person = make_person(make_org("lync"), sip_uri="sip:ada@contoso.example")
        errors = refused(person, rules=[{**OUTSIDE_RULE}])
        assert "no clock" in errors["caller_rules-0-schedule"][0]
        # A rule for every caller at all times is fine there.
        settings = update(person, rules=[{"match_all": True, "destination": "+13035550100"}])
        assert settings.caller_rules.get().match_all


@pytest.mark.django_db
class TestDndAndConfirmation:
    def test_dnd_and_ring_splash_on_webex(self, webex_person):
        settings = update(webex_person, dnd_enabled=True, dnd_ring_splash=True)
        assert (settings.dnd_enabled, settings.dnd_ring_splash) == (True, True)
        errors = refused(webex_person, dnd_enabled="on")
        assert errors == {"dnd_enabled": ["Choose yes or no."]}

    def test_dnd_is_refused_where_the_provider_cannot_refuse_a_call(self):
        person = make_person(make_org("graph"))
        errors = refused(person, dnd_enabled=True)
        assert "cannot keep the phone from ringing" in errors["dnd_enabled"][0]

    def test_confirmation_is_for_numbers_that_ring(self, webex_person):
        settings = update(webex_person, simring_enabled=True,
                          simring_targets=["+1 303 555 0100", "+1 303 555 0101"],
                          simring_confirm=["(303) 555-0101", "tel:+13035550101"],
                          simring_skip_when_on_call=True)
        assert settings.simring_confirm == ["+13035550101"]
        assert settings.simring_skip_when_on_call
        errors = refused(webex_person, simring_confirm=["+1 303 555 0199"])
        assert errors == {"simring_confirm": [
            "+1 303 555 0199 is not one of the numbers that ring at the same time; add it "
            "there or remove it here."]}
        # Dropping a confirmed number from the ring list without unconfirming it: refused.
        errors = refused(webex_person, simring_targets=["+1 303 555 0100"])
        assert "simring_confirm" in errors
        update(webex_person, simring_targets=["+1 303 555 0100"], simring_confirm=[])

    def test_webex_rings_at_most_ten_numbers(self, webex_person):
        targets = [f"+1303555{n:04d}" for n in range(100, 111)]
        errors = refused(webex_person, simring_enabled=True, simring_targets=targets)
        assert "at most 10" in errors["simring_targets"][0]

    def test_confirmation_is_refused_where_missing(self):
        person = make_person(make_org("graph"))
        errors = refused(person, simring_enabled=True, simring_targets=["+13035550100"],
                         simring_confirm=["+13035550100"])
        assert "confirm" in errors["simring_confirm"][0]


@pytest.mark.django_db
def test_desired_state_carries_the_structured_parts(webex_person):
    settings = update(webex_person, schedules=[OFFICE], dnd_enabled=True,
                      simring_enabled=True, simring_targets=["+13035550101"],
                      simring_confirm=["+13035550101"],
                      rules=[OUTSIDE_RULE, {"callers": ["+13035550111"],
                                            "match_anonymous": True,
                                            "destination": "+13035550102"}])
    state = selectors.desired_state(settings)
    assert state.time_zone == "America/New_York"
    assert state.dnd_enabled and state.simring_confirm == ("+13035550101",)
    assert state.schedules == (ScheduleState(
        name="Office hours", kind="business_hours",
        hours=(("monday", "09:00", "17:00"), ("friday", "09:00", "12:00"))),)
    assert state.caller_rules == (
        CallerRuleState(destination="+13035550100", match_all=True, schedule="Office hours",
                        schedule_when="outside"),
        CallerRuleState(destination="+13035550102", callers=("+13035550111",),
                        match_anonymous=True),
    )
    assert type(state).from_dict(state.to_dict()) == state


@pytest.mark.django_db
def test_desired_state_leaves_out_what_the_provider_lacks():
    person = make_person(make_org("webex"))
    settings = update(person, schedules=[OFFICE], dnd_enabled=True,
                      rules=[OUTSIDE_RULE])
    org = person.org
    org.provider_kind = "ucwa"  # the org moved to a provider without these
    org.save(update_fields=["provider_kind"])
    settings.person.org = org
    state = selectors.desired_state(settings)
    assert (state.schedules, state.caller_rules, state.dnd_enabled) == ((), (), False)


def test_check_schedules_alone_keys_its_errors():
    class Errors:
        by_key: dict = {}

        def add(self, key, message):
            self.by_key.setdefault(key, []).append(message)

    errors = Errors()
    errors.by_key = {}
    assert schedule_checks.check_schedules(errors, [OFFICE]) == [
        {"name": "Office hours", "kind": "business_hours",
         "hours": {"monday": [["09:00", "17:00"]], "friday": [["09:00", "12:00"]]}}]
    assert errors.by_key == {}


@pytest.mark.django_db
def test_restore_brings_back_schedules_and_scheduled_rules(webex_person):
    from forwarding.rules import previews
    from portal.audit import Actor

    update(webex_person, schedules=[OFFICE, HOLIDAYS], dnd_enabled=True,
           rules=[OUTSIDE_RULE])  # v2
    update(webex_person, schedules=[], dnd_enabled=False, rules=[])  # v3
    v2 = AuditEvent.objects.get(person=webex_person, new__version=2)
    assert v2.new["caller_rules"][0]["schedule"] == "Office hours"
    preview = previews.restore_preview(webex_person, v2.new)
    labels = {line["label"] for line in preview["lines"]}
    assert {"Schedules (business hours and holidays)", "Do not disturb",
            "Rules per caller"} <= labels
    settings = services.forwarding_restore(person=webex_person, event=v2, expected_version=3,
                                           actor=Actor.system("test"))
    assert settings.version == 4
    assert [s["name"] for s in settings.schedules] == ["Office hours", "Holidays"]
    assert settings.dnd_enabled
    rule = settings.caller_rules.get()
    assert (rule.match_all, rule.schedule, rule.schedule_when) == (True, "Office hours",
                                                                  "outside")


@pytest.mark.django_db
class TestWhatTheProviderCannotHold:
    """Validation asks the person's provider (Provider.inexpressible) whether it can hold
    the proposal exactly; what Webex's unordered criteria cannot express is refused on the
    caller rules, before anything is stored."""

    def test_a_listed_number_before_a_scheduled_rule_for_everyone_is_refused_on_webex(
            self, webex_person):
        update(webex_person, schedules=[OFFICE])
        errors = refused(webex_person, rules=[
            {"callers": ["+12025550111"], "destination": "+12025550122"},
            OUTSIDE_RULE,
        ])
        assert errors["caller_rules"]
        assert any("Office hours" in message for message in errors["caller_rules"])
        assert ForwardingSettings.objects.get(person=webex_person).caller_rules.count() == 0

    def test_the_same_rules_are_stored_where_routing_decides_at_call_time(self, db):
        person = make_person(make_org("graph", time_zone="Europe/Berlin"))
        update(person, schedules=[OFFICE])
        settings = update(person, rules=[
            {"callers": ["+12025550111"], "destination": "+12025550122"}, OUTSIDE_RULE,
        ])
        assert settings.caller_rules.count() == 2

    def test_an_expressible_outside_hours_rule_is_stored_on_webex(self, webex_person):
        update(webex_person, schedules=[OFFICE])
        settings = update(webex_person, rules=[OUTSIDE_RULE])
        assert settings.caller_rules.get().schedule_when == "outside"
