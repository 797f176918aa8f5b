"""providers.addresses on its own: no Django models, its own error type."""

import pytest

from providers import addresses
from providers.capabilities import UCWA, WEBEX


@pytest.mark.parametrize("value, region, expected", [
    ("+1 202 555 0100", "US", "+12025550100"),
    ("020 7946 0018", "GB", "+442079460018"),
    ("tel:+1-202-555-0100;ext=1", "US", "+12025550100"),
    ("SIP:Ada@Example.COM;transport=tls", "US", "sip:Ada@example.com;transport=tls"),
    ("2001", "US", "2001"),
    ("  ", "US", ""),
])
def test_destinations_are_stored_in_one_form(value, region, expected):
    assert addresses.normalize_destination(value, region=region) == expected


@pytest.mark.parametrize("value, code", [
    ("ada@example.com", "bad_sip"),
    ("12ab", "invalid"),
    ("+1 202 555", "bad_number"),
    ("+1202555\u202e0100", "control_character"),
    ("+1" + "2" * 200, "too_long"),
])
def test_unusable_destinations_raise_address_error_with_a_code(value, code):
    with pytest.raises(addresses.AddressError) as caught:
        addresses.normalize_destination(value, region="US")
    assert caught.value.code == code and caught.value.message


def test_keys_and_display():
    assert addresses.caller_keys("sip:+12025550100@example.com;user=phone", region="US") == {
        "sip:+12025550100@example.com", "+12025550100"}
    assert addresses.normalize_caller("Withheld", region="US") == addresses.ANONYMOUS
    assert addresses.keys_of_lines(["+1 202 555 0100", "", "anonymous"], "US") == {
        "+12025550100"}
    assert addresses.stored_line("20-01", region="US", number_ok=False) == "2001"
    assert addresses.destination_key("sips:Ada@Example.com;x=1") == "sip:ada@example.com"
    assert addresses.display_destination("+12025550100") == "+1 202 555 0100"
    assert addresses.display_destination("2001") == "extension 2001"
    assert addresses.E164_RE.match("+12025550100") and not addresses.E164_RE.match("2001")


def test_the_display_form_is_remembered_and_the_same_each_time():
    addresses._display_of_text.cache_clear()
    first = [addresses.display_destination(v) for v in ("+12025550100", "+abc", "sip:a@b", "")]
    again = [addresses.display_destination(v) for v in ("+12025550100", "+abc", "sip:a@b", "")]
    assert first == again == ["+1 202 555 0100", "+abc", "sip:a@b", ""]
    assert addresses._display_of_text.cache_info().hits >= 3
    assert addresses.display_destination(None) == ""


def test_the_length_limit_is_the_receiving_providers():
    sip = "sip:" + "a" * 69 + "@example.com"  # 85 characters
    assert addresses.normalize_destination(sip, region="US") == sip
    with pytest.raises(addresses.AddressError) as caught:
        addresses.normalize_destination(sip, region="US",
                                        length_problem=UCWA.destination_length_problem)
    assert caught.value.code == "too_long"
    assert caught.value.message == ("Use at most 80 characters (Skype for Business (UCWA)'s "
                                    "limit); this one has 85.")
    with pytest.raises(addresses.AddressError) as caught:
        addresses.normalize_destination(sip * 3, region="US",
                                        length_problem=WEBEX.destination_length_problem)
    assert "(the portal's limit for Webex Calling); this one has 255." in caught.value.message
