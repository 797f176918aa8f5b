"""Safety in validation (issue 15): emergency numbers are never a destination, and loops
through busy, no answer and offline forwarding are found across the org and warned about
until confirmed, while loops through always-forward stay refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from forwarding.bulk.plan import plan_edit
from forwarding.models import ForwardingSettings
from forwarding.rules import services, validation
from forwarding.rules.validation import LoopWarning, normalize_destination
from providers.addresses import emergency_number
from providers.capabilities import capabilities_for
from tests.cast import audit_count, make_org, make_person, update

# --- emergency numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "number"),
    [
        ("911", "US", "911"),
        ("+1 911", "US", "911"),
        ("tel:911", "US", "911"),
        ("sip:911@pbx.example.com;user=phone", "US", "911"),
        ("112", "US", "112"),
        ("999", "US", "999"),  # common to every GSM phone
        ("000", "US", "000"),
        ("08", "US", "08"),
        ("110", "US", "110"),
        ("119", "US", "119"),
        ("118", "US", "118"),
        ("999", "GB", "999"),
        ("+44 999", "US", "999"),  # another country's, with its code
        ("+49 110", "US", "110"),
        ("+33 17", "US", "17"),  # France's police, with France's code
        ("110", "DE", "110"),
        ("100", "IN", "100"),  # the region's own short numbers
        ("15", "FR", "15"),
    ],
)
def test_emergency_numbers_are_recognised(raw, region, number):
    assert emergency_number(raw, region=region) == number
    with pytest.raises(ValidationError) as exc:
        normalize_destination(raw, region=region)
    assert exc.value.code == "emergency"
    assert f"{number} is an emergency number" in exc.value.messages[0]


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        ("1000", "US", "1000"),  # an extension, not 1 + 000
        ("100", "US", "100"),  # India's police, an ordinary extension in the US
        ("15", "US", "15"),
        ("1234", "US", "1234"),
        ("+1 911 555 0100", "US", None),  # a number that merely starts with 911
        # Exact matches only (is_emergency_number, not connects_to_emergency_number):
        # US 4-digit extensions that start or end with an emergency number, a national
        # prefix in front, a longer extension in Germany.
        ("1911", "US", "1911"),
        ("1112", "US", "1112"),
        ("9115", "US", "9115"),
        ("1-911", "US", "1911"),
        ("0999", "GB", None),
        ("1120", "DE", None),
        ("11012", "DE", None),
        ("+1 202 555 0100", "US", "+12025550100"),
        ("sip:alice@example.com", "US", "sip:alice@example.com"),
    ],
)
def test_ordinary_destinations_are_not_emergency_numbers(raw, region, stored):
    assert emergency_number(raw, region=region) is None
    if stored is not None:
        assert normalize_destination(raw, region=region) == stored


@pytest.mark.django_db
class TestEmergencyRefusedEverywhere:
    def assert_refused(self, person, field, **kwargs):
        before = audit_count()
        with pytest.raises(ValidationError) as exc:
            update(person, **kwargs)
        assert "emergency number" in " ".join(exc.value.message_dict[field])
        assert audit_count() == before

    @pytest.mark.parametrize("feature", ["always", "busy", "no_answer", "continuity"])
    def test_every_forwarding_feature(self, org, feature):
        person = make_person(org)
        self.assert_refused(person, f"{feature}_destination",
                            **{f"{feature}_enabled": True, f"{feature}_destination": "911"})

    def test_time_window(self, org):
        person = make_person(org)
        now = timezone.now()
        self.assert_refused(person, "window_destination", window_enabled=True,
                            window_start=now + timedelta(hours=1),
                            window_end=now + timedelta(hours=2), window_destination="+1 911")

    def test_simultaneous_ring_targets(self, graph_org):
        person = make_person(graph_org)
        self.assert_refused(person, "simring_targets", simring_enabled=True,
                            simring_targets=["+13035550000", "112"])

    def test_caller_rule_destinations(self, graph_org):
        person = make_person(graph_org)
        self.assert_refused(person, "caller_rules-0-destination",
                            rules=[{"callers": ["+13035550000"], "destination": "999"}])

    def test_the_org_region_counts(self):
        # 15 (SAMU) is an emergency number in France, an ordinary extension in the US.
        person = make_person(make_org("webex", default_region="FR"), number="+33140000001")
        self.assert_refused(person, "busy_destination", busy_enabled=True,
                            busy_destination="15")


# --- loops through busy, no answer and offline ---------------------------------------------


def warned(person, field, **changes):
    """The warnings of a change that is not saved until confirmed."""
    before_version = services.settings_for(person).version
    before_audit = audit_count()
    with pytest.raises(LoopWarning) as exc:
        update(person, **changes)
    assert ForwardingSettings.objects.get(person=person).version == before_version
    assert audit_count() == before_audit
    return exc.value.message_dict[field]


def confirmed(person, **changes):
    settings = services.settings_for(person)
    return services.forwarding_update(
        person=person, changes=changes, expected_version=settings.version,
        actor=services.audit.Actor.system("test"), confirm_loops=True)


@pytest.mark.django_db
class TestConditionalLoops:
    def test_always_into_a_busy_forward_back_is_a_warning_naming_the_condition(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(ada, busy_enabled=True, busy_destination=grace.phone_number)
        messages = warned(grace, "always_destination", always_enabled=True,
                          always_destination=ada.phone_number)
        assert "when Ada is busy, calls bounce between Grace and Ada" in messages[0]
        saved = confirmed(grace, always_enabled=True, always_destination=ada.phone_number)
        assert saved.always_enabled and saved.version == 2

    def test_busy_into_an_always_forward_back(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, always_enabled=True, always_destination=ada.phone_number)
        messages = warned(ada, "busy_destination", busy_enabled=True,
                          busy_destination=grace.phone_number)
        assert "when Ada is busy, calls bounce between Ada and Grace" in messages[0]

    def test_no_answer_into_busy_back_names_both_conditions(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, busy_enabled=True, busy_destination=ada.phone_number)
        messages = warned(ada, "no_answer_destination", no_answer_enabled=True,
                          no_answer_destination=grace.phone_number)
        assert "when Ada does not answer and Grace is busy" in messages[0]

    def test_a_longer_chain_through_offline(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace", extension="2002")
        lin = make_person(org, name="Lin")
        update(grace, continuity_enabled=True, continuity_destination=lin.phone_number)
        update(lin, always_enabled=True, always_destination=ada.phone_number)
        messages = warned(ada, "busy_destination", busy_enabled=True,
                          busy_destination="2002")
        assert ("when Ada is busy and Grace is offline, calls bounce between Ada, Grace "
                "and Lin") in messages[0]

    def test_an_always_loop_stays_refused_even_when_confirmed(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, always_enabled=True, always_destination=ada.phone_number)
        with pytest.raises(ValidationError) as exc:
            confirmed(ada, always_enabled=True, always_destination=grace.phone_number)
        assert not isinstance(exc.value, LoopWarning)
        assert "Ada → Grace → Ada" in exc.value.message_dict["always_destination"][0]

    def test_a_busy_forward_behind_always_forward_never_fires(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, always_enabled=True, always_destination="+13035550000",
               busy_enabled=True, busy_destination=ada.phone_number)
        assert update(ada, busy_enabled=True,
                      busy_destination=grace.phone_number).busy_enabled

    def test_an_unrelated_edit_does_not_ask_again(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, always_enabled=True, always_destination=ada.phone_number)
        confirmed(ada, busy_enabled=True, busy_destination=grace.phone_number)
        assert update(ada, no_answer_enabled=True,
                      no_answer_destination="+13035550000").no_answer_enabled

    def test_a_bulk_plan_shows_the_warning_and_keeps_the_row_valid(self, org):
        ada = make_person(org, name="Ada")
        grace = make_person(org, name="Grace")
        update(grace, always_enabled=True, always_destination=ada.phone_number)
        result = plan_edit(org, [ada.id], feature="busy", action="set",
                           destination=grace.phone_number)
        row = result.rows[0]
        assert row.valid and row.changed
        assert "when Ada is busy" in row.warnings["busy_destination"][0]

    def test_the_walk_costs_one_query_per_level_not_per_person(
            self, org, django_assert_max_num_queries):
        # Ada busy -> Bob; Bob fans out to three people (busy, no answer, offline), who
        # all forward to Dan, who forwards back to Ada: four levels, five people behind
        # them. One query per level: 4.
        ada = make_person(org, name="Ada")
        bob = make_person(org, name="Bob")
        fan = [make_person(org, name=f"C{i}") for i in range(3)]
        dan = make_person(org, name="Dan")
        update(bob, busy_enabled=True, busy_destination=fan[0].phone_number,
               no_answer_enabled=True, no_answer_destination=fan[1].phone_number,
               continuity_enabled=True, continuity_destination=fan[2].phone_number)
        for person in fan:
            update(person, busy_enabled=True, busy_destination=dan.phone_number)
        update(dan, always_enabled=True, always_destination=ada.phone_number)
        subject = validation.Subject(
            person=ada, caps=capabilities_for("webex", ""), region="US",
            own_keys=validation.line_keys(ada, region="US"), owner_words="own line")
        current = services.values(services.settings_for(ada))
        warnings = {}
        with django_assert_max_num_queries(4):
            validation.validate_proposal(
                subject=subject, current=current, now=timezone.now(),
                changes={"busy_enabled": True, "busy_destination": bob.phone_number},
                caller_rules=None, warnings=warnings)
        assert "bounce between Ada, Bob, C0 and Dan" in warnings["busy_destination"][0]
