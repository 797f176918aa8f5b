"""Forwarding loops across the org: does a person's new forwarding lead, through other
people's forwarding, back to that person?

- Through unconditional forwarding only (always-forward, a time window that is running or
  yet to come, caller rules) every such call goes round and never rings anyone: an
  error, the proposal is refused.
- When the chain also takes busy, no answer or offline forwarding, calls go round only
  in those conditions ("when Ada is busy, calls bounce between Ada and Grace"): a
  warning, which an admin may confirm. Only the features the proposal touches are
  warned about, so an unrelated edit does not ask again about a loop already confirmed.

The people behind destinations come from the org's directory (forwarding.rules.directory
.LineIndex). The walk is breadth-first and set-based: each step resolves the
destinations of the whole level in one query, never one query per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from forwarding.rules import directory
from forwarding.rules.directory import CONDITIONS, LineIndex
from providers.addresses import destination_key

# How a warning says each condition: "when Ada is busy".
CONDITION_WORDS = {
    "busy": "is busy",
    "no_answer": "does not answer",
    "continuity": "is offline",
}
assert set(CONDITION_WORDS) == set(CONDITIONS)


@dataclass
class Findings:
    """Messages keyed by field: `errors` refuse, `warnings` need a confirmation."""

    errors: dict = field(default_factory=dict)
    warnings: dict = field(default_factory=dict)


def _own_edges(subject, merged: dict, rules: list | None, stored_rules: list,
               now: datetime) -> list[tuple[str, str, str | None, str]]:
    """(error key, destination, condition or None, feature) for each destination the
    person's new settings send calls to, as far as their provider supports the feature."""
    caps = subject.caps
    edges = []
    always = caps.supports("always") and merged.get("always_enabled") and merged.get(
        "always_destination")
    if always:
        edges.append(("always_destination", merged["always_destination"], None, "always"))
    if caps.supports("time_window") and merged.get("window_enabled") and merged.get(
            "window_destination") and merged.get("window_end") and merged["window_end"] > now:
        edges.append(("window_destination", merged["window_destination"], None,
                      "time_window"))
    if caps.supports("caller_rules"):
        for i, rule in enumerate(rules if rules is not None else stored_rules):
            if rule["destination"]:
                edges.append((f"caller_rules-{i}-destination", rule["destination"], None,
                              "caller_rules"))
    if not always:  # always-forward takes precedence over the conditions
        for condition in CONDITIONS:
            if caps.supports(condition) and merged.get(f"{condition}_enabled") and \
                    merged.get(f"{condition}_destination"):
                edges.append((f"{condition}_destination",
                              merged[f"{condition}_destination"], condition, condition))
    return edges


def find_loops(*, subject, merged: dict, rules: list | None, stored_rules: list,
               now: datetime, index: LineIndex | None = None,
               warn_for: set | frozenset = frozenset()) -> Findings:
    """The loops this person's destinations make through other people's forwarding.

    `subject`: the forwarding.rules.validation.Subject being edited. `index`: a LineIndex
    of the person's org to reuse (a bulk job); a fresh one otherwise. `warn_for`: the
    features ("always", "busy", "caller_rules" ...) whose conditional loops are warned
    about; unconditional loops are errors whatever the feature."""
    person = subject.person
    own_edges = _own_edges(subject, merged, rules, stored_rules, now)
    if not own_edges:
        return Findings()

    if index is None:
        index = LineIndex(person.org, region=subject.region)
    elif index.org_id != person.org_id:
        # An index of another org would let a loop check read (and name) its people.
        raise ValueError("This LineIndex belongs to another organisation.")
    index.resolve(destination_key(destination) for _, destination, _, _ in own_edges)

    findings = Findings()
    for key, destination, condition, feature in own_edges:
        first = index.person_for(destination_key(destination))
        if first is None or first == person.id:
            continue
        if condition is None:
            path = _path_back(index, first, person.id, now, conditional=False)
            if path is not None:
                findings.errors.setdefault(key, []).append(
                    _error_message(index, person, [(person.id, None), *path]))
                continue
        if feature not in warn_for:
            continue
        path = _path_back(index, first, person.id, now, conditional=True)
        if path is not None:
            findings.warnings.setdefault(key, []).append(
                _warning_message(index, person, [(person.id, condition), *path]))
    return findings


def _name(index: LineIndex, person, pid: int) -> str:
    return person.display_name if pid == person.id else index.name(pid)


def _error_message(index, person, cycle) -> str:
    words = " → ".join(_name(index, person, pid) for pid, _ in cycle)
    return (f"This would make a forwarding loop: {words}. Calls would go round and never "
            "ring anyone.")


def _join(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _warning_message(index, person, cycle) -> str:
    """ "When Ada is busy, calls bounce between Ada and Grace." `cycle`: (person id,
    condition of the forwarding that leaves them) from the edited person round to
    them again."""
    when = [f"{_name(index, person, pid)} {CONDITION_WORDS[condition]}"
            for pid, condition in cycle[:-1] if condition is not None]
    people = list(dict.fromkeys(_name(index, person, pid) for pid, _ in cycle))
    return (f"Forwarding loop: when {_join(when, 'and')}, calls bounce between "
            f"{_join(people, 'and')} and ring nobody. Confirm to forward anyway.")


def _edges(index: LineIndex, pid: int, now: datetime, conditional: bool):
    edges = [(None, destination) for destination in index.targets(pid, now)]
    if conditional:
        edges.extend(index.conditional_targets(pid))
    return edges


def _path_back(index: LineIndex, start_id: int, goal_id: int, now: datetime, *,
               conditional: bool):
    """Breadth-first: the shortest chain of people from `start_id` to `goal_id`, as
    [(person id, condition of the forwarding that leaves them)], ending with
    (goal_id, None); None when there is none. `conditional`: also through busy, no
    answer and offline forwarding.

    Walked one level at a time so that each level costs one query (the destinations of
    the whole level are resolved together); within a level people and their destinations
    are taken in the same order as a person-by-person breadth-first search, so the chain
    found, and the names in the message, are the same. The goal (the person being
    edited) is never expanded: their stored settings are the ones being replaced."""
    parents: dict[int, tuple | None] = {start_id: None}
    level = [start_id]
    steps = 0
    while level:
        steps += 1
        if steps > directory.MAX_WALK_STEPS:
            index.load_all()
        edges = {pid: [(condition, destination_key(d))
                       for condition, d in _edges(index, pid, now, conditional)]
                 for pid in level}
        index.resolve(key for pairs in edges.values() for _, key in pairs)
        next_level = []
        for pid in level:
            for condition, key in edges[pid]:
                nxt = index.person_for(key)
                if nxt is None or nxt in parents:
                    continue
                parents[nxt] = (pid, condition)
                if nxt == goal_id:
                    return _chain(parents, goal_id)
                next_level.append(nxt)
        level = next_level
    return None


def _chain(parents: dict, goal_id: int) -> list[tuple[int, str | None]]:
    chain = [(goal_id, None)]
    link = parents[goal_id]
    while link is not None:
        pid, condition = link
        chain.append((pid, condition))
        link = parents[pid]
    return list(reversed(chain))
