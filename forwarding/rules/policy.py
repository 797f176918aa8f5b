"""An org's destination policy, decided for one destination: pure (plain values in, a
Verdict out), so validation, the "who breaks the new policy" listing and the property
tests share one answer. The database side (the org's row, the person's exceptions, who
in the org is behind a number) is forwarding.rules.policy_checks's.

Classes of destination (`classify`):
- internal: an extension (digits, dialled inside the org), a line of a person of the org
  (the directory says so), or a SIP address on one of the policy's SIP domains;
- sip: any other SIP address (no telephone charges, but outside the org);
- mobile / national / international: a phone number by phonenumbers' type and region
  (national: the org's default region). A mobile number needs both "mobile" and its
  geography (national, or international to an allowed country). A SIP URI whose user part
  is a number ("sip:+44...@gw;user=phone") dials that number and is judged as it.

Always blocked (`BLOCKED_TYPES`), whatever the classes say: the phonenumbers types whose
calls cost the caller more than an ordinary call or reach no person: premium rate and
shared cost (the toll-fraud classics), personal numbers (UK 070: re-routed at a premium
that callers rarely expect), UAN (universal access numbers, charged at non-geographic
rates), voicemail access numbers (a forwarded line into a voicemail platform is how
mailbox fraud starts) and pagers (nobody answers a call there). Toll-free and VoIP
numbers are ordinary numbers for the classes.

Precedence, first match wins:
  exception > deny pattern > always-blocked type > (members' own edits when members may
  not forward outside the org: internal only) > allow pattern > allowed classes.

Patterns (`parse_pattern`): "+" and digits, optionally ending in "*" for every number
that starts so: "+49*", "+4930*", "+441632960000". They match the number a destination
dials (E.164), never extensions or SIP addresses by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, geocoder

from providers.addresses import EXTENSION_RE

BLOCKED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "Premium-rate numbers",
    PhoneNumberType.SHARED_COST: "Shared-cost numbers",
    PhoneNumberType.PERSONAL_NUMBER: "Personal (re-routed) numbers",
    PhoneNumberType.UAN: "Universal access numbers",
    PhoneNumberType.VOICEMAIL: "Voicemail access numbers",
    PhoneNumberType.PAGER: "Pager numbers",
}

CLASS_LABELS = {
    "internal": "Internal destinations (extensions and the org's own lines)",
    "sip": "SIP addresses outside the organization",
    "national": "National numbers",
    "mobile": "Mobile numbers",
    "international": "International numbers",
}

PATTERN_RE = re.compile(r"^\+[1-9]\d{0,14}\*?$")
PATTERN_HELP = ("Write a pattern as + then the country code and digits, ending in * for "
                "every number that starts so: +49*, +4930*, +441632960000.")
MAX_PATTERNS = 200
_SIP_NUMBER_RE = re.compile(r"^sips?:(\+\d{2,15})@", re.IGNORECASE)


class PatternError(ValueError):
    pass


def parse_pattern(text) -> str:
    """The stored form of one pattern (spaces and separators removed); PatternError with
    a sentence otherwise."""
    if not isinstance(text, str):
        raise PatternError(PATTERN_HELP)
    compact = re.sub(r"[\s().\-/]", "", text)
    if not PATTERN_RE.match(compact):
        raise PatternError(f"{text.strip()[:40]!r} is not a pattern. {PATTERN_HELP}")
    return compact


def parse_patterns(values) -> tuple[list[str], list[str]]:
    """(patterns, problems) of a list (or newline-separated text) of patterns."""
    if isinstance(values, str):
        values = values.splitlines()
    if not isinstance(values, list | tuple):
        return [], [PATTERN_HELP]
    patterns, problems = [], []
    for i, value in enumerate(values, start=1):
        if isinstance(value, str) and not value.strip():
            continue
        try:
            pattern = parse_pattern(value)
        except PatternError as exc:
            problems.append(f"Line {i}: {exc}")
            continue
        if pattern not in patterns:
            patterns.append(pattern)
    if len(patterns) > MAX_PATTERNS:
        problems.append(f"At most {MAX_PATTERNS} patterns.")
    return patterns, problems


def pattern_matches(pattern: str, number: str) -> bool:
    if pattern.endswith("*"):
        return number.startswith(pattern[:-1])
    return number == pattern


def country_name(region: str) -> str:
    """"Germany" for "DE" (phonenumbers' own English names); the code when unknown."""
    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, "en") if example else ""
    return name or region


def valid_region(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


@dataclass(frozen=True)
class Rules:
    """One org's policy as plain values (forwarding.models.DestinationPolicy.rules())."""

    org_name: str
    region: str
    allow_internal: bool = True
    allow_sip: bool = True
    allow_national: bool = True
    allow_mobile: bool = True
    allow_international: bool = True
    countries: tuple = ()  # ISO regions; empty: every country
    deny: tuple = ()
    allow: tuple = ()
    sip_domains: tuple = ()
    members_outside_org: bool = True


@dataclass(frozen=True)
class Facts:
    """What a destination is: its class, the number it dials, its type and region."""

    klass: str
    number: str = ""
    number_type: int | None = None
    region: str = ""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    code: str = ""  # exception, deny_pattern, blocked_type, outside_org, allow_pattern, class
    reason: str = ""


def dialled_number(destination: str) -> str:
    """The E.164 number a stored destination dials, or "" (an extension, a SIP name)."""
    if destination.startswith("+"):
        return destination
    match = _SIP_NUMBER_RE.match(destination)
    return match[1] if match else ""


def classify(destination: str, *, region: str, internal: bool,
             sip_domains=()) -> Facts:
    """The class of a stored destination. `internal`: the directory found a person of the
    org behind it."""
    number = dialled_number(destination)
    number_type, number_region = None, ""
    if number:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None:
            number_type = phonenumbers.number_type(parsed)
            number_region = phonenumbers.region_code_for_number(parsed) or ""
    if internal or EXTENSION_RE.match(destination):
        return Facts("internal", number, number_type, number_region)
    if not number:
        host = destination.split("@", 1)[1].split(";", 1)[0].split(":", 1)[0].lower() \
            if "@" in destination else ""
        klass = "internal" if host and host in sip_domains else "sip"
        return Facts(klass)
    if number_type == PhoneNumberType.MOBILE:
        klass = "mobile"
    elif number_region == region:
        klass = "national"
    else:
        klass = "international"
    return Facts(klass, number, number_type, number_region)


def _refusal(rules: Rules, what: str) -> str:
    return (f"{what} are not allowed by {rules.org_name}'s forwarding policy; ask an org "
            "admin for an exception.")


def _countries_words(countries) -> str:
    names = [country_name(c) for c in countries]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _geography(rules: Rules, facts: Facts) -> str | None:
    """Why the number's place is refused, or None."""
    if facts.region == rules.region:
        return None if rules.allow_national else _refusal(rules, CLASS_LABELS["national"])
    if not rules.allow_international:
        return _refusal(rules, CLASS_LABELS["international"])
    if rules.countries and facts.region not in rules.countries:
        return _refusal(rules, "International numbers outside "
                        + _countries_words(rules.countries))
    return None


def decide(rules: Rules | None, destination: str, *, internal: bool = False,
           exceptions=(), member_self: bool = False) -> Verdict:
    """Whether `destination` (stored form) may be used, with the policy's reason when
    not. `exceptions`: the person's exception patterns ("" covers everything);
    `member_self`: the person edits their own forwarding as a member. No rules: today's
    behaviour, everything allowed."""
    if rules is None or not destination:
        return Verdict(True)
    facts = classify(destination, region=rules.region, internal=internal,
                     sip_domains=rules.sip_domains)
    number = facts.number
    for pattern in exceptions:
        if pattern == "" or (number and pattern_matches(pattern, number)):
            return Verdict(True, "exception")
    if number:
        for pattern in rules.deny:
            if pattern_matches(pattern, number):
                return Verdict(False, "deny_pattern", (
                    f"Numbers starting {pattern.rstrip('*')} are blocked by "
                    f"{rules.org_name}'s forwarding policy; ask an org admin for an "
                    "exception."))
        if facts.number_type in BLOCKED_TYPES:
            return Verdict(False, "blocked_type",
                           _refusal(rules, BLOCKED_TYPES[facts.number_type]))
    if member_self and not rules.members_outside_org and facts.klass != "internal":
        return Verdict(False, "outside_org", (
            f"{rules.org_name}'s forwarding policy lets members forward only inside the "
            "organization (extensions and colleagues' lines); ask an org admin for an "
            "exception."))
    if number and any(pattern_matches(p, number) for p in rules.allow):
        return Verdict(True, "allow_pattern")
    return _by_class(rules, facts)


def _by_class(rules: Rules, facts: Facts) -> Verdict:
    if facts.klass == "internal":
        if rules.allow_internal:
            return Verdict(True, "class")
        return Verdict(False, "class", _refusal(rules, CLASS_LABELS["internal"]))
    if facts.klass == "sip":
        if rules.allow_sip:
            return Verdict(True, "class")
        return Verdict(False, "class", _refusal(rules, CLASS_LABELS["sip"]))
    if facts.klass == "mobile" and not rules.allow_mobile:
        return Verdict(False, "class", _refusal(rules, CLASS_LABELS["mobile"]))
    problem = _geography(rules, facts)
    if problem:
        return Verdict(False, "class", problem)
    return Verdict(True, "class")
