"""The pure destination policy (forwarding.rules.policy): classes, always-blocked number
types, patterns and their precedence."""

import pytest

from forwarding.rules import policy
from forwarding.rules.policy import Rules, classify, decide, parse_pattern, parse_patterns

DE = dict(org_name="Acme", region="DE")


@pytest.mark.parametrize(("destination", "klass"), [
    ("2001", "internal"),                       # an extension
    ("sip:bob@acme.example", "internal"),       # the policy's own SIP domain
    ("sip:eve@elsewhere.example", "sip"),
    ("+493012345678", "national"),              # Berlin, fixed line
    ("+4915123456789", "mobile"),               # German mobile
    ("+33612345678", "mobile"),                 # French mobile
    ("+33123456789", "international"),          # Paris
    ("+12025550100", "international"),          # Washington: fixed line or mobile
    ("+80012345678", "international"),          # international freephone (region 001)
    ("sip:+33123456789@gw.acme.example;user=phone", "international"),  # dials the number
])
def test_classes(destination, klass):
    facts = classify(destination, region="DE", internal=False, sip_domains=("acme.example",))
    assert facts.klass == klass


def test_a_colleague_s_number_is_internal_whatever_its_country():
    assert classify("+33612345678", region="DE", internal=True).klass == "internal"


@pytest.mark.parametrize(("number", "words"), [
    ("+449012345678", "Premium-rate numbers"),     # UK 09xx
    ("+19002345678", "Premium-rate numbers"),      # US 900
    ("+499001234567", "Premium-rate numbers"),     # DE 0900
    ("+33891123456", "Premium-rate numbers"),      # FR 089x
    ("+4918012345", "Shared-cost numbers"),        # DE 0180
    ("+34901123456", "Shared-cost numbers"),       # ES 901
    ("+447012345678", "Personal (re-routed) numbers"),  # UK 070
    ("+445512345678", "Universal access numbers"),  # UK 055
    ("+49177991234567", "Voicemail access numbers"),
    ("+447640123456", "Pager numbers"),            # UK 076
])
def test_always_blocked_types_even_when_every_class_is_allowed(number, words):
    verdict = decide(Rules(**DE), number)
    assert not verdict.allowed
    assert verdict.code == "blocked_type"
    assert verdict.reason == (f"{words} are not allowed by Acme's forwarding policy; ask an "
                              "org admin for an exception.")


def test_toll_free_is_an_ordinary_number():
    assert decide(Rules(**DE, allow_international=False), "+498001234567890").allowed


def test_international_allow_list_names_the_countries():
    rules = Rules(**DE, countries=("DE", "FR"))
    assert decide(rules, "+33123456789").allowed
    verdict = decide(rules, "+442079460000")
    assert verdict.reason == ("International numbers outside Germany and France are not "
                              "allowed by Acme's forwarding policy; ask an org admin for an "
                              "exception.")


def test_classes_off():
    rules = Rules(**DE, allow_national=False, allow_mobile=False, allow_international=False,
                  allow_sip=False, allow_internal=False)
    assert decide(rules, "+493012345678").reason.startswith("National numbers are not")
    assert decide(rules, "+4915123456789").reason.startswith("Mobile numbers are not")
    assert decide(rules, "+33123456789").reason.startswith("International numbers are not")
    assert decide(rules, "sip:eve@elsewhere.example").reason.startswith("SIP addresses")
    assert decide(rules, "2001").reason.startswith("Internal destinations")


def test_mobile_needs_its_geography_too():
    rules = Rules(**DE, countries=("DE",))
    assert decide(rules, "+4915123456789").allowed
    assert not decide(rules, "+33612345678").allowed


def test_precedence_exception_deny_blocked_allow_classes():
    rules = Rules(**DE, allow_international=False, deny=("+4930*",),
                  allow=("+33*", "+4930*", "+449012345678"))
    # allow pattern beats a class
    assert decide(rules, "+33123456789") == policy.Verdict(True, "allow_pattern")
    # deny beats allow
    assert decide(rules, "+493012345678").code == "deny_pattern"
    assert "Numbers starting +4930 are blocked" in decide(rules, "+493012345678").reason
    # an always-blocked type beats an allow pattern
    assert decide(rules, "+449012345678").code == "blocked_type"
    # an exception beats everything, a pattern one only for its numbers
    assert decide(rules, "+449012345678", exceptions=("+44*",)).allowed
    assert decide(rules, "+493012345678", exceptions=("",)).code == "exception"
    assert not decide(rules, "+493012345678", exceptions=("+44*",)).allowed


def test_deny_pattern_also_catches_a_number_inside_a_sip_uri():
    rules = Rules(**DE, deny=("+33*",))
    assert not decide(rules, "sip:+33123456789@gw.example;user=phone").allowed


def test_members_inside_the_org_only():
    rules = Rules(**DE, members_outside_org=False)
    outside = decide(rules, "+493012345678", member_self=True)
    assert outside.code == "outside_org"
    assert "lets members forward only inside the organization" in outside.reason
    assert decide(rules, "+493012345678").allowed            # an admin's edit
    assert decide(rules, "2001", member_self=True).allowed
    assert decide(rules, "+493012345678", internal=True, member_self=True).allowed
    assert decide(rules, "+493012345678", member_self=True, exceptions=("",)).allowed


def test_no_policy_allows_everything():
    assert decide(None, "+449012345678").allowed


@pytest.mark.parametrize("text", ["+49*", "+4930*", " +44 1632 960000 ", "+1"])
def test_patterns(text):
    assert parse_pattern(text) == text.replace(" ", "").strip()


@pytest.mark.parametrize("text", ["49*", "+49**", "*", "+0*", "+49*1", "sip:*@x", ""])
def test_bad_patterns_say_how_to_write_one(text):
    with pytest.raises(policy.PatternError, match=r"Write a pattern as \+"):
        parse_pattern(text)


def test_parse_patterns_numbers_the_bad_lines_and_drops_duplicates():
    patterns, problems = parse_patterns("+49*\n\nabc\n+49*\n")
    assert patterns == ["+49*"]
    assert problems == ["Line 3: 'abc' is not a pattern. " + policy.PATTERN_HELP]
