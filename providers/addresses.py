"""Phone numbers and SIP addresses: how a destination or a caller typed by a person is
read, stored, matched and shown. Provider-neutral and free of Django models, so the
tenancy models, the forwarding rules and the provider adapters share one set of rules.

- Destinations: numbers become E.164 with `phonenumbers` (national numbers read in the
  org's default region), internal extensions stay digits, `tel:` URIs become E.164,
  `sip:` URIs keep their user part and get a lower-case scheme and host. At most
  PORTAL_DESTINATION_MAX_LENGTH characters and no control or invisible formatting
  characters; the provider's own limit is its capability (`destination_length_problem`),
  checked by forwarding.rules.validation on the stored form.
- Callers: the same forms, leniently (a caller is matched, never dialled), plus
  "anonymous" for a withheld number.
- Emergency numbers (`emergency_number`): never a destination. The org's region's own
  (phonenumbers' short-number metadata) and, in any org, the numbers every GSM phone
  dials as emergency calls (3GPP TS 22.101: 112, 911, 000, 08, 110, 118, 119, 999), also
  written with "+<country code>" (then the emergency numbers of that country count too).
  Exact matches only, as shortnumberinfo.is_emergency_number decides, never
  connects_to_emergency_number: the latter also says yes to a longer string that starts
  with an emergency number (in most regions a phone network may still connect "911"
  followed by more digits), which would refuse the ordinary number 911 555 0100 and
  extensions such as 1120. A destination is stored and dialled whole, so what matters is
  whether the whole of it is an emergency number. Nor is a national prefix stripped:
  4-digit extensions 1911 and 1112 are common in US orgs and are no emergency numbers.
- Keys: the forms under which two addresses compare equal (loop checks, caller rules,
  the Graph bot's "who is behind this number").

A value that cannot be used raises AddressError with a sentence a person can act on and
a stable code; forwarding.rules.validation turns it into a form error on the right field.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import shortnumberinfo

from providers.capabilities import PORTAL_DESTINATION_MAX_LENGTH


class AddressError(ValueError):
    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message, self.code = message, code


# E.164 as providers take it, and an internal extension.
E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")

ANONYMOUS = "anonymous"
# RFC 3323's anonymous URI and the words phones put in From for a withheld number.
_ANONYMOUS_FORMS = {"anonymous", "sip:anonymous@anonymous.invalid", "restricted", "private",
                    "unavailable", "unknown", "withheld"}

EXTENSION_RE = re.compile(r"^\d{2,10}$")
_NUMBER_CHARS_RE = re.compile(r"^\+?[\d\s().\-/]+$")
SEPARATORS_RE = re.compile(r"[\s().\-/]")
_SIP_RE = re.compile(
    r"^(?P<scheme>sips?):(?P<user>[^@\s;:<>\"]+)@(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])"
    r"(?P<port>:\d{1,5})?(?P<params>;[^\s<>\"]*)?$",
    re.IGNORECASE,
)


# What every GSM phone treats as an emergency call, SIM or no SIM (3GPP TS 22.101).
COMMON_EMERGENCY_NUMBERS = frozenset({"112", "911", "000", "08", "110", "118", "119", "999"})
# Emergency short numbers are at most this long; a longer digit string is no candidate.
_MAX_EMERGENCY_DIGITS = 6


# --- destinations and callers ---------------------------------------------------------


def check_characters(value: str) -> None:
    for ch in value:
        # Cc: control characters (newline, NUL ...); Cf: invisible formatting such as
        # right-to-left overrides, which would make a destination read differently.
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise AddressError(
                "This contains an invisible control character. Type the destination again.",
                code="control_character",
            )


def portal_length_problem(value: str) -> str | None:
    """Why `value` is longer than the portal takes anywhere (None when it is not)."""
    if len(value) <= PORTAL_DESTINATION_MAX_LENGTH:
        return None
    return (f"Use at most {PORTAL_DESTINATION_MAX_LENGTH} characters (the portal's limit); "
            f"this one has {len(value)}.")


def check_length(value: str, length_problem=portal_length_problem) -> None:
    """Refuse a value longer than the portal takes (the text is not read further), or
    longer than `length_problem` (a provider's `destination_length_problem`) allows."""
    problem = length_problem(value)
    if problem is None and len(value) > PORTAL_DESTINATION_MAX_LENGTH:
        problem = portal_length_problem(value)
    if problem:
        raise AddressError(problem, code="too_long")


def parse_number(value: str, region: str, *, strict: bool):
    """E.164 of `value`, or None when it is not a number. `strict` asks for a number that
    exists in the numbering plan; otherwise one that could exist is enough."""
    compact = SEPARATORS_RE.sub("", value)
    try:
        number = phonenumbers.parse(compact, None if compact.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(
        number
    )
    if not ok:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _dialled_part(value: str) -> str:
    """What a destination dials, without a tel: or sip: wrapper: "tel:911" and
    "sip:911@pbx.example.com;user=phone" dial 911."""
    lower = value.lower()
    if lower.startswith("tel:"):
        return value[4:].split(";", 1)[0]
    if lower.startswith(("sip:", "sips:")):
        return value.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    return value


def _emergency_candidates(compact: str, region: str):
    """(short number, regions whose emergency numbers it is checked against) for each way
    `compact` may write an emergency number: as it is, or after "+<country code>"."""
    if compact.startswith("+"):
        digits = compact[1:]
        for size in (1, 2, 3):
            regions = phonenumbers.region_codes_for_country_code(int(digits[:size] or 0))
            if digits[size:] and regions and regions[0] != "001":
                yield digits[size:], regions
        return
    yield compact, (region,)


def emergency_number(value, *, region: str) -> str | None:
    """The emergency number `value` would dial ("911"), or None. See the module
    docstring for which numbers count."""
    if not isinstance(value, str):
        return None
    text = _dialled_part(value.strip())
    if not _NUMBER_CHARS_RE.match(text):
        return None
    compact = SEPARATORS_RE.sub("", text)
    if len(compact.lstrip("+")) > _MAX_EMERGENCY_DIGITS + 3:
        return None
    for short, regions in _emergency_candidates(compact, region):
        if len(short) > _MAX_EMERGENCY_DIGITS:
            continue
        if short in COMMON_EMERGENCY_NUMBERS:
            return short
        if any(shortnumberinfo.is_emergency_number(short, r) for r in regions):
            return short
    return None


def check_not_emergency(value, *, region: str) -> None:
    number = emergency_number(value, region=region)
    if number is not None:
        raise AddressError(
            f"{number} is an emergency number. Calls are never forwarded to the emergency "
            "services: enter another destination.",
            code="emergency",
        )


def normalize_sip(value: str) -> str:
    match = _SIP_RE.match(value)
    if not match:
        raise AddressError(
            "This is not a SIP address we can use. Write it like sip:name@example.com.",
            code="bad_sip",
        )
    scheme = match["scheme"].lower()
    host = match["host"].lower()
    return f"{scheme}:{match['user']}@{host}{match['port'] or ''}{match['params'] or ''}"


def normalize_destination(value, *, region: str,
                          length_problem=portal_length_problem) -> str:
    """`_normalize_destination`, remembered for text: a bulk change checks the same few
    destinations for thousands of people, and parsing a number is the dearest step."""
    if isinstance(value, str) and _hashable(length_problem):
        return _normalize_destination_of_text(value, region, length_problem)
    return _normalize_destination(value, region=region, length_problem=length_problem)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@lru_cache(maxsize=4096)
def _normalize_destination_of_text(value: str, region: str, length_problem) -> str:
    # Only results are remembered: an AddressError is raised afresh each time.
    return _normalize_destination(value, region=region, length_problem=length_problem)


def _normalize_destination(value, *, region: str,
                           length_problem=portal_length_problem) -> str:
    """The stored form of a destination typed by a person; "" for an empty one.

    `length_problem`: the limit of the provider that will receive it
    (`Capabilities.destination_length_problem`), checked on the stored form; what was
    typed is read only up to the portal's own bound. An emergency number is refused
    (`emergency_number`). Raises AddressError with a message a person can act on."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AddressError("Enter the destination as text.", code="invalid")
    check_characters(value)
    value = value.strip()
    if not value:
        return ""
    if len(value) > PORTAL_DESTINATION_MAX_LENGTH:
        check_length(value, length_problem)
    check_not_emergency(value, region=region)
    lower = value.lower()
    if lower.startswith(("sip:", "sips:")):
        result = normalize_sip(value)
    elif lower.startswith("tel:"):
        # RFC 3966: the number, then optional ;parameters we do not need.
        number = parse_number(value[4:].split(";", 1)[0], region, strict=True)
        if number is None:
            raise AddressError(
                f"This tel: URI does not hold a valid phone number (read in region {region}).",
                code="bad_number",
            )
        result = number
    elif "@" in value:
        raise AddressError(
            f"This looks like an address. Write it as a SIP URI: sip:{value}", code="bad_sip"
        )
    elif _NUMBER_CHARS_RE.match(value):
        result = parse_number(value, region, strict=True)
        if result is None:
            compact = SEPARATORS_RE.sub("", value)
            # A digit string that has the shape of a number of the region ("2002000000"
            # in the US) is a mistyped number, not an extension: storing it as an
            # extension would silently send calls nowhere.
            looks_like_number = parse_number(value, region, strict=False) is not None
            if EXTENSION_RE.match(compact) and not looks_like_number:
                result = compact  # an internal extension
            else:
                raise AddressError(
                    f"This is not a valid phone number for region {region}. Use +country "
                    "code and number, a national number, or an extension of 2 to 10 digits.",
                    code="bad_number",
                )
    else:
        raise AddressError(
            "Enter a phone number, an extension, or a tel: or sip: URI.", code="invalid"
        )
    check_length(result, length_problem)
    return result


def normalize_caller(value: str, *, region: str) -> str:
    """`_normalize_caller`, remembered for text (a person's lines, callers of rules)."""
    if isinstance(value, str):
        return _normalize_caller_of_text(value, region)
    return _normalize_caller(value, region=region)


@lru_cache(maxsize=8192)
def _normalize_caller_of_text(value: str, region: str) -> str:
    return _normalize_caller(value, region=region)


def _normalize_caller(value: str, *, region: str) -> str:
    """The matching form of a caller: E.164, an extension, a lower-case SIP URI without
    parameters, or "anonymous". Lenient on numbers (a number that could exist is enough:
    callers are not dialled)."""
    if value is None:
        return ANONYMOUS
    check_characters(value)
    value = value.strip()
    if not value or value.lower() in _ANONYMOUS_FORMS:
        return ANONYMOUS
    check_length(value)
    lower = value.lower()
    if lower.startswith(("sip:", "sips:")):
        sip = normalize_sip(value).split(";", 1)[0]
        return sip.replace("sips:", "sip:", 1).lower()
    if lower.startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    if "@" in value:
        raise AddressError(f"Write an address as a SIP URI: sip:{value}", code="bad_sip")
    if not _NUMBER_CHARS_RE.match(value):
        raise AddressError(
            "Enter a phone number, an extension, a sip: URI or the word anonymous.",
            code="invalid",
        )
    number = parse_number(value, region, strict=False)
    if number is not None:
        return number
    compact = SEPARATORS_RE.sub("", value)
    if EXTENSION_RE.match(compact):
        return compact
    raise AddressError(f"This is not a phone number for region {region}.", code="bad_number")


def caller_keys(caller, *, region: str) -> set[str]:
    """Every form under which a caller on an incoming call can match a rule: its E.164
    number, its SIP URI, and the number inside a `sip:+1...@host;user=phone` URI."""
    try:
        key = normalize_caller(caller, region=region)
    except AddressError:
        return {str(caller).strip().lower()}
    keys = {key}
    if key.startswith("sip:"):
        user = key[4:].split("@", 1)[0]
        number = parse_number(user, region, strict=False) if user.startswith("+") else None
        if number:
            keys.add(number)
    return keys


def line_key(line: str, region: str) -> str:
    try:
        return normalize_caller(line, region=region)
    except AddressError:
        return line.strip().lower()


def keys_of_lines(lines, region: str) -> set[str]:
    keys = {line_key(line, region) for line in lines if line}
    keys.discard(ANONYMOUS)
    return keys


def stored_line(value: str, *, region: str, number_ok: bool = True) -> str:
    """The form in which a person's phone number (`number_ok`) or extension is stored.

    Loop checks find the person behind a destination with an indexed equality on these
    columns (forwarding's LineIndex), so a line is stored as the key it matches under:
    "+1 202 555 0100" becomes "+12025550100", "20-01" becomes "2001". An extension that
    reads as a number of the org's country stays as typed (it is still found: LineIndex
    also looks up the national digits of a number). Anything else is kept as typed, only
    stripped."""
    value = (value or "").strip()
    if not value:
        return ""
    key = line_key(value, region)
    if key.isdigit() or (number_ok and key.startswith("+") and key[1:].isdigit()):
        return key
    return value


def destination_key(destination: str) -> str:
    """The comparable form of a stored destination (SIP URIs compare case-insensitively
    and without parameters)."""
    if destination.lower().startswith(("sip:", "sips:")):
        return destination.split(";", 1)[0].replace("sips:", "sip:", 1).lower()
    return destination


def display_destination(value: str) -> str:
    """A stored destination in the form people read: "+1 202 555 0100"."""
    if not value:
        return ""
    return _display_of_text(value)


# The Graph bot formats the caller, each target and the decision's words on every call
# (phonenumbers' parse and format: about a tenth of a redirect's CPU); a number's
# display form never changes.
@lru_cache(maxsize=8192)
def _display_of_text(value: str) -> str:
    if value.startswith("+"):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ).replace("-", " ")
    if value.isdigit():
        return f"extension {value}"
    return value
