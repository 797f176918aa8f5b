"""The Webex compiler: the portal's rules become criteria, schedules and settings that
make Webex (the sandbox's evaluator, Webex semantics) decide every call as the portal
does; what cannot be expressed is said in sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from providers.base import CallerRuleState, ForwardingState, ScheduleState
from providers.sandbox.webex_evaluate import evaluate
from providers.webex_compile import compile_state, inexpressible, outside_name
from providers.webex_readback import comparable_resources, decompile
from tests.providers.webex_reference import portal_decides, sandbox_view

TODAY = date(2026, 11, 27)
OFFICE = ScheduleState(name="Office hours", kind="business_hours", hours=tuple(
    (d, "09:00", "17:00") for d in ("monday", "tuesday", "wednesday", "thursday", "friday"))
    + (("saturday", "10:00", "24:00"),))
HOLIDAYS = ScheduleState(name="Holidays", kind="holidays", dates=(
    ("Christmas", "2026-12-24", "2026-12-26", True), ("Bridge day", "2027-05-14",
                                                      "2027-05-14", False)))
BOSS, PARTNER, STRANGER = "+12025550111", "+12025550112", "+12025550113"
MOBILE, DESK, VOICEMAIL = "+12025550100", "+12025550101", "+12025550102"


def rule(destination, *callers, **kw):
    return CallerRuleState(destination=destination, callers=callers, **kw)


def test_selected_callers_and_outside_business_hours_become_disjoint_criteria():
    state = ForwardingState(schedules=(OFFICE,), caller_rules=(
        rule(MOBILE, BOSS, schedule="Office hours", schedule_when="outside"),
        rule(DESK, BOSS, PARTNER),
    ), time_zone="America/New_York")
    res = compile_state(state, today=TODAY)
    assert res.problems == ()
    by_number = {(c.forward_to_phone_number, c.schedule_name): set(c.phone_numbers)
                 for c in res.criteria}
    # The boss outside hours -> mobile; the boss during hours and the partner always ->
    # desk: the boss's desk criterion is limited to office hours, so they never overlap.
    assert by_number == {(MOBILE, outside_name("Office hours")): {BOSS},
                         (DESK, "Office hours"): {BOSS}, (DESK, ""): {PARTNER}}
    assert [s.name for s in res.schedules] == ["Office hours", "Office hours (outside)"]
    outside = res.schedules[1]
    assert [e.name for e in outside.events][:2] == ["mon 00:00-09:00", "mon 17:00-24:00"]


def test_everyone_else_at_all_times_goes_to_always_forwarding():
    state = ForwardingState(caller_rules=(rule(MOBILE, BOSS), rule(VOICEMAIL, match_all=True)),
                            always_enabled=True, always_destination=DESK)
    res = compile_state(state, today=TODAY)
    assert res.problems == ()
    assert [c.phone_numbers for c in res.criteria] == [(BOSS,)]
    assert res.call_forwarding.always_enabled
    assert res.call_forwarding.always_destination == VOICEMAIL


def test_scheduled_rule_for_everyone_after_a_number_rule_is_inexpressible():
    state = ForwardingState(schedules=(OFFICE,), caller_rules=(
        rule(MOBILE, BOSS),
        rule(VOICEMAIL, match_all=True, schedule="Office hours", schedule_when="outside")))
    problems = inexpressible(state, today=TODAY)
    assert len(problems) == 1
    assert "every caller except these numbers" in problems[0]
    assert problems[0].startswith("Rule 2 ")


def test_two_schedules_for_the_same_callers_are_inexpressible():
    state = ForwardingState(schedules=(OFFICE, HOLIDAYS), caller_rules=(
        rule(VOICEMAIL, match_all=True, schedule="Holidays", schedule_when="during"),
        rule(MOBILE, match_all=True, schedule="Office hours", schedule_when="outside")))
    problems = inexpressible(state, today=TODAY)
    assert problems and "'Holidays' and 'Office hours' at once" in problems[0]


def test_long_schedule_names_and_more_than_ten_simring_numbers_are_refused():
    long = ScheduleState(name="A" * 35, kind="business_hours",
                         hours=(("monday", "09:00", "17:00"),))
    state = ForwardingState(
        schedules=(long,), caller_rules=(rule(MOBILE, BOSS, schedule="A" * 35,
                                              schedule_when="outside"),),
        simring_enabled=True, simring_targets=tuple(f"+1202555{n:04d}" for n in range(11)))
    problems = inexpressible(state, today=TODAY)
    assert any("shorten the schedule's name to at most 30" in p for p in problems)
    assert any("at most 10 numbers" in p for p in problems)


def test_yearly_holidays_are_written_out_and_overlapping_days_merged():
    overlapping = ScheduleState(name="Holidays", kind="holidays", dates=(
        ("Christmas", "2026-12-24", "2026-12-26", True),
        ("Boxing week", "2026-12-26", "2026-12-31", False)))
    res = compile_state(ForwardingState(schedules=(overlapping,)), today=TODAY)
    events = {e.start_date: e.end_date for e in res.schedules[0].events}
    assert events["2026-12-24"] == "2026-12-31"  # merged: Webex refuses overlaps
    assert events["2030-12-24"] == "2030-12-26"
    assert "2031-12-24" not in events


def test_simring_confirmation_and_dnd():
    state = ForwardingState(simring_enabled=True, simring_targets=(MOBILE, DESK),
                            simring_confirm=(DESK,), simring_skip_when_on_call=True,
                            dnd_enabled=True, dnd_ring_splash=True)
    res = compile_state(state, today=TODAY)
    assert res.simultaneous_ring.to_wire()["phoneNumbers"] == [
        {"phoneNumber": MOBILE, "answerConfirmationEnabled": False},
        {"phoneNumber": DESK, "answerConfirmationEnabled": True}]
    assert res.simultaneous_ring.do_not_ring_if_on_call_enabled
    assert res.do_not_disturb.enabled and res.do_not_disturb.ring_splash_enabled


def test_decompiling_what_was_compiled_compares_equal():
    state = ForwardingState(schedules=(OFFICE, HOLIDAYS), caller_rules=(
        rule(MOBILE, BOSS, schedule="Office hours", schedule_when="outside"),
        rule(DESK, BOSS, PARTNER, match_anonymous=True),
        rule(VOICEMAIL, match_all=True)), simring_enabled=True, simring_targets=(MOBILE,),
        dnd_enabled=True)
    res = compile_state(state, today=TODAY)
    theirs, problems = decompile(
        call_forwarding=res.call_forwarding, criteria=res.criteria, schedules=res.schedules,
        simultaneous_ring=res.simultaneous_ring, do_not_disturb=res.do_not_disturb,
        selective_enabled=True)
    assert problems == []
    assert comparable_resources(theirs, today=TODAY) == comparable_resources(state,
                                                                             today=TODAY)
    changed = ForwardingState.from_dict({**theirs.to_dict(), "dnd_enabled": False})
    assert comparable_resources(changed, today=TODAY) != comparable_resources(state,
                                                                              today=TODAY)


# --- property: Webex (sandbox evaluator) and the portal agree on who answers ---------------

NUMBERS = (BOSS, PARTNER, STRANGER)
DESTINATIONS = (MOBILE, DESK, VOICEMAIL)
SCHEDULE_CHOICES = ((None, ""), ("Office hours", "during"), ("Office hours", "outside"),
                    ("Holidays", "during"), ("Holidays", "outside"))


@st.composite
def caller_rules(draw):
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        match_all = draw(st.booleans())
        callers = () if match_all else tuple(sorted(draw(st.sets(st.sampled_from(NUMBERS),
                                                                 max_size=2))))
        anonymous = False if match_all else draw(st.booleans())
        assume(match_all or callers or anonymous)
        schedule, when = draw(st.sampled_from(SCHEDULE_CHOICES))
        rules.append(CallerRuleState(destination=draw(st.sampled_from(DESTINATIONS)),
                                     callers=callers, match_anonymous=anonymous,
                                     match_all=match_all, schedule=schedule or "",
                                     schedule_when=when))
    return tuple(rules)


@st.composite
def states(draw):
    simring = draw(st.booleans())
    return ForwardingState(
        schedules=(OFFICE, HOLIDAYS), caller_rules=draw(caller_rules()),
        always_enabled=draw(st.booleans()), always_destination=DESK,
        busy_enabled=draw(st.booleans()), busy_destination=VOICEMAIL,
        no_answer_enabled=draw(st.booleans()), no_answer_destination=VOICEMAIL,
        simring_enabled=simring, simring_targets=(MOBILE,) if simring else (),
        simring_skip_when_on_call=draw(st.booleans()), dnd_enabled=draw(st.booleans()),
        time_zone=draw(st.sampled_from(("America/New_York", "Europe/Berlin", "UTC"))))


INSTANTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31),
                        ).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(state=states(), calls=st.lists(st.tuples(
    st.sampled_from((*NUMBERS, "+12025550199", None)), INSTANTS,
    st.sampled_from(("idle", "busy", "no_answer", "offline"))), min_size=1, max_size=8))
def test_webex_decides_every_call_as_the_portal(state, calls):
    assume(not inexpressible(state, today=TODAY))
    view = sandbox_view(state, today=TODAY)
    for caller, at, line_state in calls:
        webex = evaluate(view, caller=caller, at=at, line_state=line_state,
                         zone=state.time_zone)
        assert webex["rule"] != "ambiguous", (caller, at, webex)
        assert webex["targets"] == portal_decides(state, caller=caller, at=at,
                                                  line_state=line_state), (caller, at, webex)


def test_every_hour_of_a_week_across_a_dst_change():
    state = ForwardingState(schedules=(OFFICE,), caller_rules=(
        rule(MOBILE, match_all=True, schedule="Office hours", schedule_when="outside"),),
        time_zone="Europe/Berlin")
    view = sandbox_view(state, today=TODAY)
    start = datetime(2026, 3, 26, tzinfo=UTC)  # clocks go forward on 29 March in Berlin
    for hour in range(24 * 7):
        at = start + timedelta(hours=hour, minutes=30)
        assert evaluate(view, caller=None, at=at, zone=state.time_zone)["targets"] == \
            portal_decides(state, caller=None, at=at)


def test_yearly_holidays_read_back_as_yearly():
    res = compile_state(ForwardingState(schedules=(HOLIDAYS,)), today=TODAY)
    theirs, problems = decompile(
        call_forwarding=ForwardingState(), criteria=(), schedules=res.schedules,
        simultaneous_ring=res.simultaneous_ring, do_not_disturb=res.do_not_disturb,
        selective_enabled=False)
    assert problems == []
    assert theirs.schedules[0].dates == (
        ("Christmas", "2025-12-24", "2025-12-26", True),
        ("Bridge day", "2027-05-14", "2027-05-14", False))
