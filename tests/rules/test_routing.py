"""The routing precedence as a table, on plain RoutingRules (no database), plus rules_for."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from forwarding.rules import routing
from forwarding.rules.routing import CallerRoute, RoutingRules, decide
from providers.capabilities import GRAPH, LYNC, UCWA, WEBEX, capabilities_for
from tests.cast import make_org, make_person, update

GRAPH_BETA = capabilities_for("graph", "beta")
GRAPH_V1 = capabilities_for("graph", "v1.0")
OWN = "+12025550100"
AT = datetime(2026, 3, 4, 21, 0, tzinfo=UTC)  # a Wednesday, 21:00
WINDOW = {"window_enabled": True, "window_start": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
          "window_end": datetime(2026, 3, 6, 18, 0, tzinfo=UTC),
          "window_destination": "+12025550111"}
RULES = (
    CallerRoute(callers=("+12025550123",), destination="+12025550301"),
    CallerRoute(callers=("sip:boss@contoso.example", "+12025550124"),
             destination="sip:assistant@contoso.example", disposition="redirect",
             mask_caller=True, mask_callee=True),
    CallerRoute(match_anonymous=True, destination="+12025550303"),
)
EVERYTHING = {
    "own_line": OWN,
    "always_enabled": True, "always_destination": "+12025550200",
    "busy_enabled": True, "busy_destination": "+12025550201",
    "no_answer_enabled": True, "no_answer_destination": "+12025550202",
    "no_answer_ring_after": 4,
    "continuity_enabled": True, "continuity_destination": "+12025550203",
    "simring_enabled": True, "simring_targets": ("+12025550204",),
    **WINDOW,
    "caller_rules": RULES,
}
STATES = {"busy": "+12025550201", "no_answer": "+12025550202", "offline": "+12025550203"}


def rules_of(caps, **overrides):
    return RoutingRules(caps=caps, **{"own_line": OWN, **overrides})


def everything(caps, *, drop=(), **overrides):
    values = {k: v for k, v in EVERYTHING.items() if k not in drop}
    values.update(overrides)
    return RoutingRules(caps=caps, **values)


# (case, rules, caller, at, line state) -> (rule, targets, disposition, timeout)
PRECEDENCE = [
    ("nothing set: the line rings",
     rules_of(WEBEX), "+12025550999", AT, "idle",
     ("none", [OWN], "ring", None)),
    ("a caller rule beats the window, always and the line state",
     everything(GRAPH_BETA), "+1 (202) 555-0123", AT, "busy",
     ("caller_rule:1", ["+12025550301"], "forward", None)),
    ("the first matching rule decides; SIP compares case-insensitively",
     everything(GRAPH_BETA), "SIP:Boss@Contoso.Example;transport=tls", AT, "idle",
     ("caller_rule:2", ["sip:assistant@contoso.example"], "redirect", None)),
    ("a tel: caller matches a number in E.164",
     everything(GRAPH_BETA), "tel:+12025550124", AT, "idle",
     ("caller_rule:2", ["sip:assistant@contoso.example"], "redirect", None)),
    ("a SIP caller with a phone number matches that number",
     everything(GRAPH_BETA), "sip:+12025550123@gw.example;user=phone", AT, "idle",
     ("caller_rule:1", ["+12025550301"], "forward", None)),
    ("a missing caller is anonymous",
     everything(GRAPH_BETA), None, AT, "idle",
     ("caller_rule:3", ["+12025550303"], "forward", None)),
    ("the word anonymous is anonymous",
     everything(GRAPH_BETA), "Anonymous", AT, "idle",
     ("caller_rule:3", ["+12025550303"], "forward", None)),
    ("an anonymous caller matches no numbered rule",
     everything(GRAPH_BETA, caller_rules=RULES[:2]), None, AT, "idle",
     ("time_window", ["+12025550111"], "forward", None)),
    ("no rule matches: an active window decides",
     everything(GRAPH_BETA), "+12025550999", AT, "busy",
     ("time_window", ["+12025550111"], "forward", None)),
    ("the window starts at its start",
     everything(WEBEX, drop=("caller_rules",)), "+12025550999", WINDOW["window_start"], "idle",
     ("time_window", ["+12025550111"], "forward", None)),
    ("the window is over at its end: always decides",
     everything(WEBEX, drop=("caller_rules",)), "+12025550999", WINDOW["window_end"], "idle",
     ("always", ["+12025550200"], "forward", None)),
    ("no window: always beats the line state",
     everything(WEBEX, drop=("caller_rules", "window_enabled")), "+12025550999", AT, "busy",
     ("always", ["+12025550200"], "forward", None)),
    *[
        (f"line state {state}",
         everything(WEBEX, drop=("caller_rules", "window_enabled", "always_enabled")),
         "+12025550999", AT, state,
         (state if state != "offline" else "continuity", [target], "forward", None))
        for state, target in STATES.items()
    ],
    ("an idle line skips the state step: simring (own line + target, Graph default 60 s)",
     everything(GRAPH_BETA, drop=("caller_rules", "window_enabled", "always_enabled")),
     "+12025550999", AT, "idle",
     ("simring", [OWN, "+12025550204"], "ring", 60)),
    ("busy forwarding off: falls through to simring with the chosen timeout",
     rules_of(GRAPH_BETA, simring_enabled=True, simring_targets=("+12025550204",),
          simring_timeout=30), "+12025550999", AT, "busy",
     ("simring", [OWN, "+12025550204"], "ring", 30)),
    ("simring of one target (no own line known): Graph's 55 s",
     RoutingRules(caps=GRAPH_BETA, simring_enabled=True, simring_targets=("+12025550204",)),
     "+12025550999", AT, "idle",
     ("simring", ["+12025550204"], "ring", 55)),
    ("UCWA simring has no timeout of its own",
     rules_of(UCWA, simring_enabled=True, simring_targets=("+12025550204",)),
     "+12025550999", AT, "idle",
     ("simring", [OWN, "+12025550204"], "ring", None)),
    # Unsupported features never decide, even when stored.
    ("UCWA has no caller rules: always decides",
     everything(UCWA, drop=("window_enabled",)), "+12025550123", AT, "idle",
     ("always", ["+12025550200"], "forward", None)),
    ("Webex has caller rules (selective forward): the rule decides",
     everything(WEBEX, drop=("window_enabled",)), "+12025550123", AT, "idle",
     ("caller_rule:1", ["+12025550301"], "forward", None)),
    ("Graph cannot know busy: simring decides",
     everything(GRAPH, drop=("caller_rules", "window_enabled", "always_enabled")),
     "+12025550999", AT, "busy",
     ("simring", [OWN, "+12025550204"], "ring", 60)),
    ("Lync has no time window or simring: always decides, then none",
     everything(LYNC, drop=("caller_rules",)), "+12025550999", AT, "idle",
     ("always", ["+12025550200"], "forward", None)),
    # An offline phone cannot ring: nothing does, rather than "the line rings".
    ("Lync offline: no continuity, no simring: nothing rings",
     everything(LYNC, drop=("caller_rules", "always_enabled")), "+12025550999", AT,
     "offline",
     ("none", [], "ring", None)),
    ("Graph offline: simring rings the other numbers only, the timeout counts the line",
     everything(GRAPH, drop=("caller_rules", "window_enabled", "always_enabled")),
     "+12025550999", AT, "offline",
     ("simring", ["+12025550204"], "ring", 60)),
    ("Graph v1.0 cannot redirect: the rule forwards",
     everything(GRAPH_V1), "sip:boss@contoso.example", AT, "idle",
     ("caller_rule:2", ["sip:assistant@contoso.example"], "forward", None)),
]


@pytest.mark.parametrize(
    ("plan_", "caller", "at", "line_state", "expected"),
    [case[1:] for case in PRECEDENCE],
    ids=[case[0] for case in PRECEDENCE],
)
def test_precedence(plan_, caller, at, line_state, expected):
    decision = decide(plan_, caller=caller, at=at, line_state=line_state)
    assert (decision.rule, decision.targets, decision.disposition, decision.timeout) == expected
    assert decision.explanation


def test_masking_comes_from_the_rule_where_the_provider_has_it():
    decision = decide(everything(GRAPH_BETA), caller="sip:boss@contoso.example", at=AT,
                      line_state="idle")
    assert (decision.mask_caller, decision.mask_callee) == (True, True)
    decision = decide(everything(GRAPH_V1), caller="sip:boss@contoso.example", at=AT,
                      line_state="idle")
    assert (decision.mask_caller, decision.mask_callee) == (False, False)


def test_explanations_read_as_plain_words():
    decision = decide(everything(WEBEX, drop=("caller_rules", "window_enabled",
                                              "always_enabled")),
                      caller="+1 555 0100", at=AT, line_state="busy")
    assert decision.explanation == (
        "The line is busy, so forward-when-busy sends the call to +1 202 555 0201."
    )
    decision = decide(everything(GRAPH_BETA), caller="+12025550123", at=AT, line_state="idle")
    assert decision.explanation == (
        "Caller +1 202 555 0123 matches caller rule 1: the call is forwarded to "
        "+1 202 555 0301 (the caller is not told)."
    )


def test_an_unknown_line_state_is_an_error():
    with pytest.raises(ValueError, match="unknown line state"):
        decide(rules_of(WEBEX), caller=None, at=AT, line_state="ringing")


def test_a_rule_without_destination_never_decides():
    p = rules_of(GRAPH_BETA, caller_rules=(replace(RULES[0], destination=""),))
    assert decide(p, caller="+12025550123", at=AT, line_state="idle").rule == "none"


@pytest.mark.django_db
def test_plan_for_loads_settings_and_rules_from_the_database():
    org = make_org("graph", graph_api_version="beta", default_region="GB")
    person = make_person(org, number="+442079460000")
    update(person, always_enabled=False, simring_enabled=True,
           simring_targets=["020 7946 0001"],
           rules=[{"callers": ["020 7946 0999"], "destination": "020 7946 0002",
                   "disposition": "redirect"}])
    p = routing.rules_for(person)
    assert p.region == "GB" and p.own_line == "+442079460000"
    assert p.simring_targets == ("+442079460001",)
    decision = decide(p, caller="020 7946 0999", at=timezone.now(), line_state="idle")
    assert (decision.rule, decision.targets, decision.disposition) == (
        "caller_rule:1", ["+442079460002"], "redirect")


@pytest.mark.django_db
def test_plan_for_a_person_without_settings_rings_the_line():
    person = make_person(make_org("webex"), number="+12025550142")
    decision = decide(routing.rules_for(person), caller=None, at=timezone.now(),
                      line_state="idle")
    assert (decision.rule, decision.targets) == ("none", ["+12025550142"])
    offline = decide(routing.rules_for(person), caller=None, at=timezone.now(),
                     line_state="offline")
    assert (offline.rule, offline.targets) == ("none", [])
    assert "rings" not in offline.explanation and "offline" in offline.explanation
