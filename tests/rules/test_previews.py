"""The words previews and row reasons use for settings fields."""

import pytest

from forwarding.rules.previews import field_label, reasons
from forwarding.rules.validation import EDITABLE_FIELDS


@pytest.mark.parametrize("name, label", [
    ("busy_destination", "Forward when busy: destination"),
    ("busy_enabled", "Forward when busy"),
    ("no_answer_ring_after", "Forward when not answered: forward after"),
    ("window_end", "Time window: until"),
    ("simring_targets", "Simultaneous ring: numbers to ring"),
    ("simring_confirm", "Simultaneous ring: numbers whose answerer presses a key"),
    ("dnd_enabled", "Do not disturb"),
    ("dnd_ring_splash", "Do not disturb: ring splash"),
    ("schedules", "Schedules (business hours and holidays)"),
    ("version", "Version"),
    ("non_field_errors", ""),
])
def test_field_labels(name, label):
    assert field_label(name) == label


def test_no_field_is_shown_by_its_code():
    for name in EDITABLE_FIELDS:
        assert "_" not in field_label(name), name


def test_reasons_name_the_field_or_stand_alone():
    assert reasons({"busy_destination": ["Too long."], "non_field_errors": ["No such person."]}
                   ) == ["Forward when busy: destination: Too long.", "No such person."]
