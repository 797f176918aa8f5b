"""Issue 16: for random rule sets Webex can hold (webex_compile.inexpressible is empty),
random callers, instants and line states, the portal's routing.decide and the sandbox's
Webex evaluator over the compiled resources agree on who answers.

Needs routing with schedules (branch "sched": RoutingRules.time_zone/schedules/dnd and
the caller rules' match_all/schedule/schedule_when); skipped until those fields exist.
tests/providers/test_webex_compile.py checks the same compiler against a plain
reference of the portal's semantics meanwhile."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forwarding.rules import routing
from providers.capabilities import capabilities_for
from providers.sandbox.webex_evaluate import evaluate
from providers.webex_compile import inexpressible
from tests.providers.test_webex_compile import INSTANTS, NUMBERS, states
from tests.providers.webex_reference import sandbox_view

_RULES = {f.name for f in dataclasses.fields(routing.RoutingRules)}
_ROUTES = {f.name for f in dataclasses.fields(routing.CallerRoute)}
pytestmark = pytest.mark.skipif(
    not {"time_zone", "schedules", "dnd_enabled"} <= _RULES
    or not {"match_all", "schedule", "schedule_when"} <= _ROUTES,
    reason="routing.decide does not evaluate schedules yet (branch sched)")

TODAY = date(2026, 11, 27)
OWN = "+12025550150"


def routing_rules(state):
    """RoutingRules for a ForwardingState, field by field where the names agree."""
    values = {name: getattr(state, name) for name in _RULES
              if hasattr(state, name) and name not in ("caller_rules", "schedules")}
    values["caller_rules"] = tuple(
        routing.CallerRoute(**{k: v for k, v in dataclasses.asdict(r).items() if k in _ROUTES})
        for r in state.caller_rules)
    values["schedules"] = state.schedules
    return routing.RoutingRules(caps=capabilities_for("webex"), own_line=OWN, **values)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(state=states(), caller=st.sampled_from((*NUMBERS, "+12025550199", None)),
       at=INSTANTS, line_state=st.sampled_from(("idle", "busy", "no_answer", "offline")))
def test_routing_and_the_pushed_webex_resources_agree(state, caller, at, line_state):
    assume(not inexpressible(state, today=TODAY))
    view = sandbox_view(state, today=TODAY)
    webex = evaluate(view, caller=caller, at=at, line_state=line_state,
                     zone=state.time_zone, own_line=OWN)
    decision = routing.decide(routing_rules(state), caller=caller, at=at,
                              line_state=line_state)
    assert webex["rule"] != "ambiguous"
    assert sorted(webex["targets"]) == sorted(decision.targets), (webex, decision)
