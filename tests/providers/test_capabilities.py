"""The capability matrix: issue 16's features and options per provider, the one question
about scheduled caller rules, and the README's table kept in step with the matrix."""

import re
from pathlib import Path

import pytest

from providers.capabilities import FEATURE_LABELS, FEATURES, MATRIX, OPTIONS, capabilities_for

README = Path(__file__).resolve().parents[2] / "README.md"
KINDS = ["webex", "graph", "ucwa", "lync"]


def test_webex_has_every_feature_natively():
    webex = capabilities_for("webex")
    assert all(webex.supports(f) for f in FEATURES)
    assert webex.simring_max_targets == 10
    assert all(webex.has_option(o) for o in ("answer_confirmation", "skip_when_on_call",
                                             "ring_splash"))
    assert webex.rules_take_schedules() and webex.schedule_reason() is None


def test_graph_decides_schedules_at_call_time_but_cannot_refuse_a_call():
    graph = capabilities_for("graph", "v1.0")
    assert graph.supports("schedules") and not graph.supports("dnd")
    assert "cannot keep the phone from ringing" in graph.reason("dnd")
    assert graph.rules_take_schedules()
    assert "checks the schedules itself" in graph.note("schedules")
    assert not graph.has_option("ring_splash")


@pytest.mark.parametrize(("kind", "feature", "fragment"), [
    ("ucwa", "schedules", "Outlook calendar"),
    ("ucwa", "dnd", "presence"),
    ("graph", "dnd", "presence"),
    ("lync", "schedules", "no clock or calendar functions"),
    ("lync", "dnd", "presence"),
])
def test_what_is_missing_says_why(kind, feature, fragment):
    caps = capabilities_for(kind)
    assert not caps.supports(feature)
    assert fragment in caps.reason(feature)


def test_lync_rules_exist_but_take_no_schedule():
    lync = capabilities_for("lync")
    assert lync.supports("caller_rules") and not lync.rules_take_schedules()
    assert "no clock" in lync.schedule_reason()


def test_every_option_has_a_reason_when_missing():
    for caps in MATRIX.values():
        for option, _label, available, reason in caps.options():
            assert option in OPTIONS
            assert available or reason


def test_the_readme_table_follows_the_matrix():
    text = README.read_text()
    section = text[text.index("## What each provider does"):]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in FEATURE_LABELS.values():
            rows[cells[0]] = cells[1:]
    assert set(rows) == set(FEATURE_LABELS.values())
    for feature in FEATURES:
        for kind, cell in zip(KINDS, rows[FEATURE_LABELS[feature]], strict=True):
            caps = MATRIX[kind]
            if caps.supports(feature):
                assert re.match(r"yes\b", cell), (feature, kind, cell)
            else:
                assert cell == f"no: {caps.reason(feature)}", (feature, kind)
