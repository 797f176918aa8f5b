"""Destinations, limits, capabilities, self-forwarding and loops: every refusal carries a
message keyed by the field that caused it, and nothing is written."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from forwarding.rules.validation import normalize_caller, normalize_destination
from tests.cast import audit_count, make_org, make_person, update


def sip_of_length(n: int) -> str:
    value = "sip:" + "a" * (n - len("sip:@example.com")) + "@example.com"
    assert len(value) == n
    return value


# --- destinations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        ("+1 202 555 0100", "US", "+12025550100"),
        ("(202) 555-0100", "US", "+12025550100"),
        ("9075551333", "US", "+19075551333"),  # the Webex document's example
        ("020 7946 0000", "GB", "+442079460000"),  # national number, org region GB
        ("  +44 20 7946 0000  ", "US", "+442079460000"),
        ("tel:+1-202-555-0100", "US", "+12025550100"),
        ("TEL:+1-202-555-0100;ext=1", "US", "+12025550100"),
        ("1234", "US", "1234"),  # internal extension
        ("SIP:Alice@Contoso.COM", "US", "sip:Alice@contoso.com"),
        ("sip:bob@example.com;transport=tls", "US", "sip:bob@example.com;transport=tls"),
        ("", "US", ""),
    ],
)
def test_destinations_are_normalised(raw, region, stored):
    assert normalize_destination(raw, region=region) == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("sip:" + "a" * 185 + "@example.com", "at most 200 characters (the portal's limit)"),
        ("+1 202 555 0100\n", "control character"),
        ("+1 202\x00555 0100", "control character"),
        ("sip:\u202eevil@example.com", "control character"),  # right-to-left override
        ("alice@example.com", "sip:alice@example.com"),
        ("sip:no-host", "SIP address"),
        ("call me maybe", "phone number"),
        ("+1 555 0100", "not a valid phone number"),  # possible, but not a real number
        ("tel:12", "tel: URI"),
        ("1", "not a valid phone number"),
    ],
)
def test_bad_destinations_are_refused_with_a_reason(raw, message):
    with pytest.raises(ValidationError) as exc:
        normalize_destination(raw, region="US")
    assert message.lower() in " ".join(exc.value.messages).lower()


def test_a_destination_of_exactly_80_characters_is_accepted():
    value = "sip:" + "a" * 64 + "@example.com"
    assert len(value) == 80
    assert normalize_destination(value, region="US") == value


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (None, "anonymous"),
        ("", "anonymous"),
        ("Anonymous", "anonymous"),
        ("sip:anonymous@anonymous.invalid", "anonymous"),
        ("+1 555 0100", "+15550100"),  # callers only need to be possible numbers
        ("SIP:Boss@Contoso.com;transport=tls", "sip:boss@contoso.com"),
        ("2001", "2001"),
    ],
)
def test_callers_are_normalised_for_matching(raw, key):
    assert normalize_caller(raw, region="US") == key


# --- the service refuses and writes nothing ---------------------------------------------


def assert_refused(person, field, fragment, **kwargs):
    before_version = services.settings_for(person).version
    before_audit = audit_count()
    with pytest.raises(ValidationError) as exc:
        update(person, **kwargs)
    errors = exc.value.message_dict
    assert field in errors, errors
    assert fragment.lower() in " ".join(errors[field]).lower(), errors[field]
    assert ForwardingSettings.objects.get(person=person).version == before_version
    assert audit_count() == before_audit
    return errors


@pytest.mark.django_db
class TestLimits:
    @pytest.mark.parametrize("rings", [1, 21])
    def test_webex_rings_outside_2_to_20_are_refused(self, org, rings):
        person = make_person(org)
        assert_refused(person, "no_answer_ring_after", "between 2 and 20 rings",
                       no_answer_enabled=True, no_answer_destination="+12025550199",
                       no_answer_ring_after=rings)

    @pytest.mark.parametrize("rings", [2, 20])
    def test_webex_rings_at_the_edges_are_accepted(self, org, rings):
        person = make_person(org)
        settings = update(person, no_answer_enabled=True, no_answer_destination="+12025550199",
                          no_answer_ring_after=rings)
        assert settings.no_answer_ring_after == rings

    def test_webex_person_maximum_lowers_the_limit(self, org):
        person = make_person(org, provider_data={"systemMaxNumberOfRings": 10})
        update(person, no_answer_ring_after=10)
        assert_refused(person, "no_answer_ring_after", "between 2 and 10 rings",
                       no_answer_ring_after=11)

    def test_no_answer_without_a_count_takes_the_provider_default(self, org):
        person = make_person(org)
        settings = update(person, no_answer_enabled=True, no_answer_destination="2001")
        assert settings.no_answer_ring_after == 3

    @pytest.mark.parametrize(("seconds", "ok"), [(4, False), (5, True), (60, True), (61, False)])
    def test_ucwa_counts_seconds_from_5_to_60(self, ucwa_org, seconds, ok):
        person = make_person(ucwa_org)
        changes = {"no_answer_enabled": True, "no_answer_destination": "+12025550199",
                   "no_answer_ring_after": seconds}
        if ok:
            assert update(person, **changes).no_answer_ring_after == seconds
        else:
            assert_refused(person, "no_answer_ring_after", "between 5 and 60 seconds",
                           **changes)

    def test_graph_rings_25_targets_at_once(self, graph_org):
        person = make_person(graph_org)
        targets = [f"+1303555{n:04d}" for n in range(25)]
        settings = update(person, simring_enabled=True, simring_targets=targets)
        assert settings.simring_targets == targets

    def test_graph_refuses_a_26th_target(self, graph_org):
        person = make_person(graph_org)
        targets = [f"+1303555{n:04d}" for n in range(26)]
        assert_refused(person, "simring_targets", "at most 25 targets at once; you listed 26",
                       simring_enabled=True, simring_targets=targets)

    @pytest.mark.parametrize(("timeout", "ok"), [(14, False), (15, True), (90, True),
                                                 (91, False)])
    def test_graph_ring_timeout_is_15_to_90_seconds(self, graph_org, timeout, ok):
        person = make_person(graph_org)
        changes = {"simring_enabled": True, "simring_targets": ["+13035550000"],
                   "simring_timeout": timeout}
        if ok:
            assert update(person, **changes).simring_timeout == timeout
        else:
            assert_refused(person, "simring_timeout", "between 15 and 90 seconds", **changes)

    def test_ucwa_rings_one_other_target_and_has_no_timeout(self, ucwa_org):
        person = make_person(ucwa_org)
        assert_refused(person, "simring_targets", "at most 1 target at once",
                       simring_enabled=True, simring_targets=["+13035550000", "+13035550001"])
        assert_refused(person, "simring_timeout", "does not let you choose",
                       simring_enabled=True, simring_targets=["+13035550000"],
                       simring_timeout=30)

    def test_ucwa_refuses_an_81_character_destination_naming_itself(self, ucwa_org):
        person = make_person(ucwa_org)
        assert_refused(person, "always_destination",
                       "at most 80 characters (Skype for Business (UCWA)'s limit); "
                       "this one has 81",
                       always_enabled=True, always_destination=sip_of_length(81))

    def test_ucwa_takes_80_characters(self, ucwa_org):
        person = make_person(ucwa_org)
        assert update(person, always_enabled=True,
                      always_destination=sip_of_length(80)).always_destination == (
            sip_of_length(80))

    def test_ucwa_limit_applies_to_every_destination_it_receives(self, ucwa_org):
        person = make_person(ucwa_org)
        assert_refused(person, "no_answer_destination", "Skype for Business (UCWA)'s limit",
                       no_answer_enabled=True, no_answer_destination=sip_of_length(81))
        assert_refused(person, "simring_targets", "Skype for Business (UCWA)'s limit",
                       simring_enabled=True, simring_targets=[sip_of_length(81)])
        assert_refused(person, "window_destination", "Skype for Business (UCWA)'s limit",
                       window_destination=sip_of_length(81))

    def test_ucwa_refuses_sips_with_its_reason(self, ucwa_org, graph_org):
        person = make_person(ucwa_org)
        assert_refused(person, "always_destination", "Skype for Business takes sip: addresses",
                       always_enabled=True, always_destination="sips:ada@contoso.com")
        teams = make_person(graph_org)
        assert update(teams, simring_enabled=True, simring_targets=["sips:ada@contoso.com"])

    def test_webex_takes_a_100_character_destination(self, org):
        # Issue 15: refused with "Skype for Business's limit" on a Webex org.
        person = make_person(org)
        settings = update(person, always_enabled=True, always_destination=sip_of_length(100))
        settings.refresh_from_db()
        assert settings.always_destination == sip_of_length(100)

    def test_webex_refusal_names_the_portals_limit_for_webex(self, org):
        person = make_person(org)
        errors = assert_refused(person, "busy_destination",
                                "at most 200 characters (the portal's limit for Webex "
                                "Calling); this one has 201",
                                busy_enabled=True, busy_destination=sip_of_length(201))
        assert "Skype" not in str(errors)

    def test_graph_caller_rule_destination_has_the_portals_limit_for_teams(self, graph_org):
        person = make_person(graph_org)
        rule = {"callers": ["+12025550111"], "destination": sip_of_length(120)}
        assert update(person, rules=[rule]) is not None
        rule = {"callers": ["+12025550111"], "destination": sip_of_length(201)}
        errors = assert_refused(person, "caller_rules-0-destination",
                                "the portal's limit for Microsoft Teams (Graph)", rules=[rule])
        assert "Skype" not in str(errors)

    def test_duplicate_simring_targets_are_refused(self, graph_org):
        person = make_person(graph_org)
        assert_refused(person, "simring_targets", "listed twice",
                       simring_enabled=True,
                       simring_targets=["+1 303 555 0000", "tel:+13035550000"])


@pytest.mark.django_db
class TestUnsupported:
    @pytest.mark.parametrize(
        ("kind", "changes", "field", "reason"),
        [
            ("webex", {"simring_timeout": 20}, "simring_timeout",
             "does not let you choose how long"),
            ("ucwa", {"dnd_enabled": True}, "dnd_enabled", "presence"),
            ("lync", {"dnd_enabled": True}, "dnd_enabled", "presence"),
            ("ucwa", {"simring_skip_when_on_call": True}, "simring_skip_when_on_call",
             "cannot hold back"),
            ("graph", {"dnd_enabled": True}, "dnd_enabled", "not refuse it"),
            ("lync", {"schedules": [{"name": "Office", "kind": "business_hours",
                                     "hours": {"monday": [["09:00", "17:00"]]}}]},
             "schedules", "no clock"),
            ("ucwa", {"schedules": [{"name": "Office", "kind": "business_hours",
                                     "hours": {"monday": [["09:00", "17:00"]]}}]},
             "schedules", "work hours of the person's Outlook calendar"),
            ("ucwa", {"busy_enabled": True}, "busy_enabled", "no separate forwarding"),
            ("ucwa", {"continuity_destination": "+13035550000"}, "continuity_destination",
             "no forwarding when offline"),
            ("ucwa", {"always_ring_reminder": True}, "always_ring_reminder",
             "no ring reminder"),
            ("ucwa", {"always_voicemail": True}, "always_voicemail", "voicemail"),
            ("graph", {"busy_enabled": True}, "busy_enabled", "cannot know it is busy"),
            ("graph", {"no_answer_ring_after": 5}, "no_answer_ring_after",
             "not answered"),
            ("graph", {"continuity_enabled": True}, "continuity_enabled", "no offline state"),
            ("lync", {"simring_enabled": True}, "simring_enabled", "one destination"),
            ("lync", {"window_enabled": True}, "window_enabled", "deployed by hand"),
            ("lync", {"no_answer_enabled": True}, "no_answer_enabled", "not whether it was"),
        ],
    )
    def test_unsupported_settings_are_refused_with_the_matrix_reason(self, kind, changes,
                                                                       field, reason):
        person = make_person(make_org(kind))
        assert_refused(person, field, reason, **changes)

    @pytest.mark.parametrize("kind", ["ucwa"])
    def test_caller_rules_are_refused_where_missing(self, kind):
        person = make_person(make_org(kind))
        assert_refused(person, "caller_rules", "no per-caller rules",
                       rules=[{"callers": ["+13035550000"], "destination": "+13035550001"}])

    def test_graph_v1_has_neither_disposition_nor_masking(self):
        person = make_person(make_org("graph", graph_api_version="v1.0"))
        errors = assert_refused(
            person, "caller_rules-0-disposition", "beta",
            rules=[{"callers": ["+13035550000"], "destination": "+13035550001",
                    "disposition": "redirect", "mask_caller": True}],
        )
        assert "beta" in errors["caller_rules-0-mask_caller"][0]

    def test_the_harmless_default_of_an_unsupported_setting_is_accepted(self, ucwa_org):
        person = make_person(ucwa_org)
        settings = update(person, busy_enabled=False, always_enabled=True,
                          always_destination="+13035550000")
        assert settings.version == 2 and settings.busy_enabled is False

    def test_unknown_settings_and_bad_types_are_refused(self, org):
        person = make_person(org)
        assert_refused(person, "sync_status", "not a forwarding setting", sync_status="synced")
        assert_refused(person, "always_enabled", "yes or no", always_enabled="on")
        assert_refused(person, "no_answer_ring_after", "whole number",
                       no_answer_ring_after="7")


@pytest.mark.django_db
class TestRequiredAndWindow:
    def test_an_enabled_forwarding_needs_a_destination(self, org):
        person = make_person(org)
        assert_refused(person, "busy_destination", "enter where", busy_enabled=True)

    def test_window_end_must_follow_start_and_lie_ahead(self, org):
        person = make_person(org)
        now = timezone.now()
        assert_refused(person, "window_end", "after the start", window_enabled=True,
                       window_start=now + timedelta(days=2), window_end=now + timedelta(days=1),
                       window_destination="+13035550000")
        assert_refused(person, "window_end", "already over", window_enabled=True,
                       window_start=now - timedelta(days=2), window_end=now - timedelta(days=1),
                       window_destination="+13035550000")
        errors = assert_refused(person, "window_start", "starts", window_enabled=True)
        assert "window_end" in errors and "window_destination" in errors

    def test_window_datetimes_need_a_time_zone(self, org):
        person = make_person(org)
        assert_refused(person, "window_start", "time zone", window_enabled=True,
                       window_start=timezone.now().replace(tzinfo=None))


@pytest.mark.django_db
class TestSelfAndLoops:
    def test_a_destination_equal_to_the_own_line_is_refused(self, org):
        person = make_person(org, number="+12025550142", extension="4242",
                             sip_uri="sip:me@acme.example")
        assert_refused(person, "always_destination", "own line", always_enabled=True,
                       always_destination="(202) 555-0142")
        assert_refused(person, "busy_destination", "own line", busy_enabled=True,
                       busy_destination="4242")
        assert_refused(person, "window_destination", "own line", window_enabled=True,
                       window_start=timezone.now(),
                       window_end=timezone.now() + timedelta(hours=1),
                       window_destination="SIP:ME@acme.example")

    def test_own_line_in_simring_and_caller_rules_is_refused(self, graph_org):
        person = make_person(graph_org, number="+12025550142")
        assert_refused(person, "simring_targets", "own line", simring_enabled=True,
                       simring_targets=["+12025550142"])
        assert_refused(person, "caller_rules-0-destination", "own line",
                       rules=[{"callers": ["+13035550000"], "destination": "+12025550142"}])

    def test_a_two_person_loop_through_always_forward_names_the_cycle(self, org):
        alice = make_person(org, name="Alice")
        bob = make_person(org, name="Bob")
        update(bob, always_enabled=True, always_destination=alice.phone_number)
        errors = assert_refused(alice, "always_destination", "forwarding loop",
                                always_enabled=True, always_destination=bob.phone_number)
        assert "Alice → Bob → Alice" in errors["always_destination"][0]

    def test_a_three_person_loop_through_extensions_and_sip(self, org):
        alice = make_person(org, name="Alice", extension="2001")
        bob = make_person(org, name="Bob", sip_uri="sip:bob@acme.example")
        carol = make_person(org, name="Carol")
        update(bob, always_enabled=True, always_destination=carol.phone_number)
        update(carol, always_enabled=True, always_destination="2001")
        errors = assert_refused(alice, "always_destination", "loop", always_enabled=True,
                                always_destination="sip:BOB@acme.example")
        assert "Alice → Bob → Carol → Alice" in errors["always_destination"][0]

    def test_a_loop_through_a_caller_rule_is_attached_to_that_rule(self, graph_org):
        alice = make_person(graph_org, name="Alice")
        bob = make_person(graph_org, name="Bob")
        update(bob, rules=[{"callers": ["+13035550000"], "destination": alice.phone_number}])
        errors = assert_refused(
            alice, "caller_rules-1-destination", "Alice → Bob → Alice",
            rules=[{"callers": ["+13035550001"], "destination": "+13035550002"},
                   {"callers": ["+13035550003"], "destination": bob.phone_number}],
        )
        assert "caller_rules-0-destination" not in errors

    def test_a_chain_without_a_cycle_is_accepted(self, org):
        alice = make_person(org, name="Alice")
        bob = make_person(org, name="Bob")
        update(bob, always_enabled=True, always_destination="+13035550000")
        assert update(alice, always_enabled=True,
                      always_destination=bob.phone_number).version == 2

    def test_a_disabled_always_forward_is_no_edge(self, org):
        alice = make_person(org, name="Alice")
        bob = make_person(org, name="Bob")
        update(bob, always_enabled=True, always_destination=alice.phone_number)
        update(bob, always_enabled=False)
        assert update(alice, always_enabled=True,
                      always_destination=bob.phone_number).always_enabled

    def test_caller_rule_errors_are_keyed_by_rule_and_field(self, graph_org):
        person = make_person(graph_org)
        with pytest.raises(ValidationError) as exc:
            update(person, rules=[
                {"callers": ["+13035550000"], "destination": "+13035550001"},
                {"callers": ["not a number"], "destination": ""},
                {"callers": [], "destination": "+13035550002", "disposition": "teleport"},
            ])
        errors = exc.value.message_dict
        assert set(errors) == {"caller_rules-1-callers", "caller_rules-1-destination",
                               "caller_rules-2-callers", "caller_rules-2-disposition"}
        assert "not a number" in errors["caller_rules-1-callers"][0]
