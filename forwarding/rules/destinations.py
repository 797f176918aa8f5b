"""Destinations and callers as forms see them: providers.addresses holds the rules
(numbers, extensions, SIP URIs, emergency numbers); these raise a form's ValidationError
instead, and say whether a destination is the person's own line. Shared by the checks
of a proposal (forwarding.rules.validation) and of caller rules (caller_rules)."""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import ValidationError

from providers import addresses
from providers.addresses import destination_key, keys_of_lines
from providers.capabilities import FEATURE_LABELS, Capabilities


def _form_error(exc: addresses.AddressError) -> ValidationError:
    return ValidationError(exc.message, code=exc.code)


def normalize_destination(value, *, region: str, caps: Capabilities | None = None) -> str:
    """The stored form of a destination typed by a person; "" for an empty one. With
    `caps`, one that provider takes (its length limit, sips:), and a refusal names it."""
    length_problem = (caps.destination_length_problem if caps is not None
                      else addresses.portal_length_problem)
    try:
        result = addresses.normalize_destination(value, region=region,
                                                 length_problem=length_problem)
    except addresses.AddressError as exc:
        raise _form_error(exc) from None
    if caps is not None and caps.sips_reason and result.startswith("sips:"):
        raise ValidationError(caps.sips_reason, code="bad_sip")
    return result


def normalize_caller(value: str, *, region: str) -> str:
    """The matching form of a caller (see providers.addresses.normalize_caller)."""
    try:
        return addresses.normalize_caller(value, region=region)
    except addresses.AddressError as exc:
        raise _form_error(exc) from None


def line_keys(person, *, region: str) -> set[str]:
    """Normalised forms of every address that reaches `person`."""
    return set(_line_keys(tuple(person.lines()), region))


@lru_cache(maxsize=8192)
def _line_keys(lines: tuple, region: str) -> frozenset:
    # Parsing numbers is the dearest step of checking a change (about 0.15 ms a line),
    # and a bulk job's chunk asks for each person's keys twice (the chunk's line index,
    # then the person's own check): remembered by the lines themselves, so a changed
    # number is parsed afresh.
    return frozenset(keys_of_lines(lines, region))


def check_not_self(errors, key, destination, subject) -> None:
    """An error under `key` when `destination` is the subject's own line."""
    if destination_key(destination) in subject.own_keys:
        errors.add(key, f"This is {subject.owner_words}: calls would come straight back.")


def unsupported_message(caps: Capabilities, feature: str) -> str:
    return f"{FEATURE_LABELS[feature]} is not available: {caps.reason(feature)}"


def as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError("Choose yes or no.", code="invalid")
