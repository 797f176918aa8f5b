"""Property tests (hypothesis) of destination parsing and routing precedence."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from forwarding.rules import routing
from forwarding.rules.validation import normalize_destination
from providers.capabilities import capabilities_for

# North American numbers: area code and exchange start with 2-9 (NANP rules).
area = st.integers(200, 999).filter(lambda n: n % 100 != 11 and n // 100 >= 2)
exchange = st.integers(200, 999).filter(lambda n: n % 100 != 11)
line = st.integers(0, 9999)


@st.composite
def us_number(draw):
    a, e, n = draw(area), draw(exchange), draw(line)
    digits = f"{a}{e}{n:04d}"
    written = draw(st.sampled_from([
        "{a}{e}{n}", "({a}) {e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "1-{a}-{e}-{n}",
        "+1{a}{e}{n}", "tel:+1{a}{e}{n}",
    ]))
    return written.format(a=a, e=e, n=f"{n:04d}"), f"+1{digits}"


@given(us_number())
def test_numbers_normalise_to_e164_and_are_stable(pair):
    written, e164 = pair
    try:
        normalised = normalize_destination(written, region="US")
    except ValidationError:
        # Some generated numbers are unassigned (phonenumbers knows the plan): refused
        # with a message, which is fine; what must never happen is a wrong number.
        return
    assert normalised == e164
    assert normalize_destination(normalised, region="US") == normalised


@given(st.text(max_size=120))
def test_any_text_is_accepted_normalised_or_refused_with_a_message(text):
    try:
        value = normalize_destination(text, region="US")
    except ValidationError as exc:
        assert exc.messages and all(m.strip() for m in exc.messages)
        return
    # Blank means "no destination" (required-ness is checked where a feature is on).
    assert len(value) <= 80 and (value != "" or text.strip() == "")
    assert not any(ord(c) < 32 or ord(c) == 127 for c in value)


@given(st.text(min_size=1, max_size=10), st.sampled_from(["\x00", "\n", "\r", "\x1b", "\x7f"]),
       st.integers(0, 10))
def test_control_characters_are_always_refused(text, control, at):
    value = "sip:" + text[:at] + control + text[at:] + "@example.com"
    with pytest.raises(ValidationError):
        normalize_destination(value, region="US")


@given(st.sampled_from(["webex", "ucwa", "graph", "lync"]), st.integers(20, 400))
def test_a_destination_is_refused_exactly_when_longer_than_its_provider_takes(kind, length):
    caps = capabilities_for(kind)
    value = "sip:" + "a" * (length - len("sip:@x.io")) + "@x.io"
    assert len(value) == length
    if length > caps.destination_max_length:
        with pytest.raises(ValidationError) as refused:
            normalize_destination(value, region="US", caps=caps)
        assert caps.label in refused.value.messages[0]
    else:
        assert normalize_destination(value, region="US", caps=caps) == value


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
destinations = st.sampled_from(["+12025550101", "+12025550102", "+12025550103", "1234",
                                "sip:colleague@example.com"])
callers = st.sampled_from(["+12025550199", "+12025550198", "sip:boss@example.com", None])


@st.composite
def routing_rules(draw):
    caps = capabilities_for(draw(st.sampled_from(["webex", "graph", "ucwa", "lync"])))
    window_on = draw(st.booleans())
    start = NOW + timedelta(hours=draw(st.integers(-48, 48)))
    caller_rules = tuple(
        routing.CallerRoute(callers=tuple(draw(st.lists(callers.filter(bool), max_size=2))),
                            match_anonymous=draw(st.booleans()), destination=draw(destinations),
                            disposition=draw(st.sampled_from(caps.dispositions or ("forward",))))
        for _ in range(draw(st.integers(0, 3)))
    ) if caps.supports("caller_rules") else ()
    return routing.RoutingRules(
        caps=caps, own_line="+12025550100",
        always_enabled=draw(st.booleans()), always_destination=draw(destinations),
        busy_enabled=draw(st.booleans()), busy_destination=draw(destinations),
        no_answer_enabled=draw(st.booleans()), no_answer_destination=draw(destinations),
        continuity_enabled=draw(st.booleans()), continuity_destination=draw(destinations),
        simring_enabled=draw(st.booleans()) and caps.supports("simring"),
        simring_targets=tuple(draw(st.lists(destinations, min_size=1, max_size=2,
                                            unique=True))),
        window_enabled=window_on and caps.supports("time_window"), window_start=start,
        window_end=start + timedelta(hours=draw(st.integers(1, 72))),
        window_destination=draw(destinations), caller_rules=caller_rules,
        dnd_enabled=draw(st.booleans()) and caps.supports("dnd"),
    )


@given(routing_rules(), callers, st.sampled_from(routing.LINE_STATES))
def test_routing_precedence_holds(rules, caller, state):
    decision = routing.decide(rules, caller=caller, at=NOW, line_state=state)
    # Every call goes somewhere, but for an offline phone that nothing forwards: it reaches
    # nobody (the caller hears the line is unavailable).
    # Nor does a call under do not disturb that nothing forwards (the busy treatment).
    assert decision.targets or state == "offline" or rules.dnd_enabled, \
        "every call goes somewhere"
    matching = [i for i, rule in enumerate(rules.caller_rules, start=1)
                if (caller in rule.callers) or (caller is None and rule.match_anonymous)]
    if matching:
        assert decision.rule == f"caller_rule:{matching[0]}"
        assert decision.disposition == rules.caller_rules[matching[0] - 1].disposition
        return
    window = rules.window_enabled and rules.window_start <= NOW < rules.window_end
    if window:
        assert (decision.rule, decision.targets) == ("time_window", [rules.window_destination])
        return
    if rules.always_enabled and rules.caps.supports("always"):
        assert (decision.rule, decision.targets) == ("always", [rules.always_destination])
        return
    by_state = {"offline": "continuity", "busy": "busy", "no_answer": "no_answer"}
    if rules.dnd_enabled:
        state = "busy"  # do not disturb: the line behaves as busy
    feature = by_state.get(state)
    if feature and rules.caps.supports(feature) and getattr(rules, f"{feature}_enabled"):
        assert decision.rule == feature
        assert decision.targets == [getattr(rules, f"{feature}_destination")]
        return
    if rules.dnd_enabled:
        assert (decision.rule, decision.targets) == ("dnd", [])
        return
    if rules.simring_enabled:
        assert decision.rule == "simring"
        assert set(rules.simring_targets) <= set(decision.targets)
        return
    ringing = [] if state == "offline" else [rules.own_line]
    assert (decision.rule, decision.targets) == ("none", ringing)
