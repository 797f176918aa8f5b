"""Pushing a person's whole forwarding to Webex Calling as one change, and reading it back.

`push_person` brings every Webex resource of `providers.webex_compile` to the desired
state, in this order:

1. Schedules the criteria will name are created or updated (a criterion naming a
   schedule that does not exist is refused by Webex).
2. Selective forward:
   * when it stays or becomes on: the criteria are reconciled (read back, matched by
     content; stale ones deleted before new ones are created, so two criteria with
     different numbers never match one call at the same moment), then the setting is
     turned on;
   * when it goes off: the setting is turned off first, then its criteria deleted, so
     no call ever meets a half-deleted rule set.
3. Call forwarding (the catch-all "everyone else" rule may live in "always", which Webex
   consults only when no criterion matched: it comes after the criteria that take the
   listed callers out of it).
4. Simultaneous ring, then do not disturb (independent of the rest).
5. Schedules no longer wanted are deleted last, once no criterion names them.

A crash between any two writes is safe: a retry reads everything back and changes only
what differs, matching criteria by content and schedules by name and type, never by an
id remembered from the crashed attempt, so nothing is created twice.

Each resource is read first and written only when it differs. When nothing beyond call
forwarding is wanted, call forwarding goes first and the rest is only read (and switched
off where Webex has it on), so a plain push is one write as before issue 16.

When a resource is refused for good (4xx), the others that do not depend on it are
still written and the failure is raised once, naming each resource in the person's
words ("Simultaneous ring was not saved: ..."); it is permanent only when every failure
was. A transient failure (429, 5xx, timeout) stops the push at once: the whole push is
retried after the provider's pause, and the reads make the retry start where this one
stopped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from . import webex_settings_api as api
from .base import Connection, ForwardingState, ProviderError, PushResult
from .webex_compile import OUTSIDE_SUFFIX, compile_state
from .webex_readback import decompile
from .webex_settings import Schedule, SelectiveForward

RESOURCE_WORDS = {
    "schedules": "The schedules were not saved",
    "criteria": "The rules per caller were not saved",
    "selective": "Forwarding by caller and schedule was not switched",
    "forwarding": "Call forwarding was not saved",
    "simring": "Simultaneous ring was not saved",
    "dnd": "Do not disturb was not saved",
    "cleanup": "Old schedules were not removed",
}


class _Counter:
    """Counts the HTTP requests of one push (the attempt row records them)."""

    def __init__(self):
        self.requests = 0
        self.tracking_id = ""


def _counted(counter: _Counter, call, *args, **kwargs):
    counter.requests += 1
    return call(*args, **kwargs)


class _Stop(Exception):
    """A transient failure: the whole push is retried later, so stop writing now."""


def _ensure_schedules(conn, person, desired: tuple[Schedule, ...], counter) -> list[Schedule]:
    """Create or update the wanted schedules; returns the person's schedules as listed
    before (for the final clean-up)."""
    existing = _counted(counter, api.list_schedules, conn, person)
    by_key = {(s.name, s.type): s for s in existing if s.level == "PEOPLE"}
    for want in desired:
        have = by_key.get((want.name, want.type))
        if have is None:
            _counted(counter, api.create_schedule, conn, person, want)
            continue
        current = _counted(counter, api.get_schedule, conn, person, want.type, have.id)
        if not current.same_events(want):
            _counted(counter, api.update_schedule, conn, person, have.id, want)
    return existing


def _selective_forward(conn, person, res, counter, *, schedules_ok: bool, step) -> None:
    """Step 2 of the module docstring: criteria then the switch, or the switch then the
    criteria; each written only when it differs from what Webex holds."""
    current, ids = _counted(counter, api.get_selective_forward, conn, person)
    wanted = res.selective_forward
    if wanted.enabled:
        if schedules_ok and step("criteria", lambda: _reconcile_criteria(
                conn, person, ids, res.criteria, counter)) and current != wanted:
            step("selective", lambda: _counted(counter, api.put_selective_forward, conn,
                                               person, wanted))
        return
    if current.enabled and not step("selective", lambda: _counted(
            counter, api.put_selective_forward, conn, person,
            SelectiveForward(enabled=False))):
        return
    if ids:
        step("criteria", lambda: _reconcile_criteria(conn, person, ids, (), counter))


def _reconcile_criteria(conn, person, ids, desired, counter) -> None:
    existing = [_counted(counter, api.get_criterion, conn, person, i) for i in ids]
    _, to_create, to_delete = api.plan_criteria(existing, list(desired))
    for criterion_id in to_delete:
        _counted(counter, api.delete_criterion, conn, person, criterion_id)
    for criterion in to_create:
        _counted(counter, api.create_criterion, conn, person, criterion)


def _simultaneous_ring(conn, person, wanted, counter) -> None:
    current = _counted(counter, api.get_simultaneous_ring, conn, person)
    if current != wanted:
        _counted(counter, api.put_simultaneous_ring, conn, person, wanted)


def _do_not_disturb(conn, person, wanted, counter) -> None:
    current = _counted(counter, api.get_do_not_disturb, conn, person)
    # "A mobile device will still ring" is not the portal's to decide: kept as it is.
    wanted = replace(wanted, webex_go_override_enabled=current.webex_go_override_enabled)
    if current != wanted:
        _counted(counter, api.put_do_not_disturb, conn, person, wanted)


def _delete_stale_schedules(conn, person, listed, desired: tuple[Schedule, ...],
                            counter) -> None:
    """Delete the person's own schedules the portal no longer wants. The portal owns the
    person-level schedules of the people it manages (issue 16); location schedules are
    never touched."""
    wanted = {(s.name, s.type) for s in desired}
    for have in listed:
        if have.level == "PEOPLE" and (have.name, have.type) not in wanted:
            _counted(counter, api.delete_schedule, conn, person, have.type, have.id)


def push_person(conn: Connection, person: str, state: ForwardingState, *, to_wire,
                put_call_forwarding, today=None) -> PushResult:
    """Bring all of `person`'s Webex resources to `state` (see the module docstring)."""
    today = today or datetime.now(UTC).date()
    res = compile_state(state, today=today)
    counter = _Counter()
    failures: list[tuple[str, ProviderError]] = []
    status = {}

    def step(key, call):
        try:
            call()
            return True
        except ProviderError as exc:
            failures.append((key, exc))
            # Transient: the whole push is retried. Refused credentials (401) or access
            # (403): every other resource would be refused the same way.
            if not exc.permanent or exc.status_code in (401, 403):
                raise _Stop from exc
            return False

    def put_forwarding():
        response = _counted(counter, put_call_forwarding, conn, person,
                            to_wire(res.call_forwarding))
        status["code"] = response.status_code
        counter.tracking_id = response.headers.get("TrackingID", "")

    # Nothing beyond call forwarding wanted: call forwarding goes first (it is the change
    # that matters) and the rest is only read, and switched off where Webex has it on.
    plain = not (res.criteria or res.schedules or res.simultaneous_ring.enabled
                 or res.do_not_disturb.enabled)
    listed: list[Schedule] = []
    try:
        if plain:
            step("forwarding", put_forwarding)
        schedules_ok = step("schedules", lambda: listed.extend(
            _ensure_schedules(conn, person, res.schedules, counter)))
        _selective_forward(conn, person, res, counter, schedules_ok=schedules_ok, step=step)
        if not plain:
            step("forwarding", put_forwarding)
        step("simring", lambda: _simultaneous_ring(conn, person, res.simultaneous_ring,
                                                   counter))
        step("dnd", lambda: _do_not_disturb(conn, person, res.do_not_disturb, counter))
        if not failures:
            step("cleanup", lambda: _delete_stale_schedules(conn, person, listed,
                                                            res.schedules, counter))
    except _Stop:
        pass
    if failures:
        raise _combined(failures, counter)
    return PushResult(status_code=status.get("code", 204), tracking_id=counter.tracking_id,
                      requests=counter.requests,
                      summary="PUT callForwarding, selectiveForward "
                      f"({len(res.criteria)} criteria), {len(res.schedules)} schedules, "
                      "simultaneousRing, doNotDisturb")


def _combined(failures, counter) -> ProviderError:
    sentences = [f"{RESOURCE_WORDS[key]}: {exc.message}" for key, exc in failures]
    first = failures[0][1]
    waits = [exc.retry_after for _, exc in failures if exc.retry_after is not None]
    error = ProviderError(
        " ".join(s if s.endswith(".") else s + "." for s in sentences),
        permanent=all(exc.permanent for _, exc in failures),
        status_code=next((exc.status_code for _, exc in failures if not exc.permanent),
                         first.status_code),
        retry_after=max(waits) if waits else None,
        raw="\n".join(exc.raw for _, exc in failures if exc.raw),
        tracking_id=first.tracking_id)
    error.requests_sent = counter.requests
    error.failed_resources = [key for key, _ in failures]
    return error


def fetch_person(conn: Connection, person: str, *, call_forwarding: ForwardingState
                 ) -> tuple[ForwardingState, list[str]]:
    """What Webex holds for `person`, as a ForwardingState (see webex_compile.decompile),
    and why parts of it cannot become the portal's rules."""
    selective, ids = api.get_selective_forward(conn, person)
    criteria = [api.get_criterion(conn, person, i) for i in ids]
    schedules = []
    for summary in api.list_schedules(conn, person):
        if summary.level != "PEOPLE":
            continue
        full = api.get_schedule(conn, person, summary.type, summary.id)
        schedules.append(full)
    state, problems = decompile(
        call_forwarding=call_forwarding, criteria=criteria, schedules=schedules,
        simultaneous_ring=api.get_simultaneous_ring(conn, person),
        do_not_disturb=api.get_do_not_disturb(conn, person),
        selective_enabled=selective.enabled)
    return state, problems


__all__ = ["OUTSIDE_SUFFIX", "RESOURCE_WORDS", "fetch_person", "push_person"]
