"""The destination policy as validation meets it: one PolicyCheck per write (or dry run,
or preview) of one person, holding the org's rules, the person's exceptions and whether
the actor is the member themself, and answering for each destination that a proposal
brings in. Refusals are collected on the check so that services can audit them after the
refused transaction (validation writes nothing); dry runs and previews drop them.

Also the reads of the policy pages: the org's rules, and the people whose stored
forwarding the current policy forbids (`forbidden_people`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from forwarding.models import DestinationPolicy, ForwardingSettings, PolicyException
from forwarding.rules import policy
from forwarding.rules.directory import people_behind
from portal import access
from providers.addresses import destination_key, display_destination


def rules_from(row: DestinationPolicy | None, org) -> policy.Rules | None:
    """The pure Rules of an org's policy row (None: no policy)."""
    if row is None:
        return None
    return policy.Rules(
        org_name=org.name, region=org.default_region,
        allow_internal=row.allow_internal, allow_sip=row.allow_sip,
        allow_national=row.allow_national, allow_mobile=row.allow_mobile,
        allow_international=row.allow_international,
        countries=tuple(row.international_countries or ()),
        deny=tuple(row.deny_patterns or ()), allow=tuple(row.allow_patterns or ()),
        sip_domains=tuple(row.sip_domains or ()),
        members_outside_org=row.members_outside_org,
    )


def policy_row(org) -> DestinationPolicy | None:
    return DestinationPolicy.objects.filter(org=org).first()


def rules_for_org(org) -> policy.Rules | None:
    return rules_from(policy_row(org), org)


def acts_as_member(person, actor) -> bool:
    """Whether `actor` edits `person`'s forwarding as that person, a plain member (not an
    org admin nor a partner admin acting for the org)."""
    user = getattr(actor, "user", None)
    if user is None or getattr(actor, "via_partner", None) is not None:
        return False
    if person.user_id != user.pk:
        return False
    return not access.is_org_admin(user, person.org)


@dataclass
class PolicyCheck:
    org: object
    rules: policy.Rules | None
    exceptions: tuple = ()
    member_self: bool = False
    refusals: list = field(default_factory=list)
    # A LineIndex of the org shared by many checks (a bulk plan): who is behind a number
    # is asked there instead of with a query of its own.
    index: object = None
    _internal: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.rules is not None

    def reason(self, key: str, destination: str) -> str | None:
        """The policy's sentence refusing `destination` (stored form), or None; a refusal
        is remembered under `key` (the field)."""
        if self.rules is None or not destination:
            return None
        verdict = policy.decide(self.rules, destination, internal=self._is_internal(
            destination), exceptions=self.exceptions, member_self=self.member_self)
        if verdict.allowed:
            return None
        self.refusals.append({"field": key, "destination": destination,
                              "code": verdict.code, "reason": verdict.reason})
        return verdict.reason

    def _is_internal(self, destination: str) -> bool:
        """Whether a person of the org is behind `destination` (one query per new
        destination; extensions and SIP domains are decided without one)."""
        if destination.isdigit():
            return True
        if destination not in self._internal:
            if self.index is not None:
                key = destination_key(destination)
                self.index.resolve({key})
                self._internal[destination] = self.index.person_for(key) is not None
            else:
                found = people_behind(self.org, [destination], region=self.rules.region)
                self._internal[destination] = destination in found
        return self._internal[destination]


def check_for(person, actor=None, *, rules: policy.Rules | None | bool = False,
              exceptions=None, index=None) -> PolicyCheck:
    """The PolicyCheck of one write of `person` by `actor` (None: a system change or a
    dry run by an admin, bound by the policy like an admin's). `rules`, `exceptions`:
    already read (a bulk plan reads them per batch); by default they are read here."""
    if rules is False:
        rules = rules_for_org(person.org)
    if rules is None:
        return PolicyCheck(org=person.org, rules=None)
    if exceptions is None:
        exceptions = PolicyException.objects.filter(person=person).values_list(
            "pattern", flat=True)
    return PolicyCheck(org=person.org, rules=rules, exceptions=tuple(exceptions),
                       member_self=acts_as_member(person, actor), index=index)


def exceptions_by_person(person_ids) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for person_id, pattern in PolicyException.objects.filter(
            person_id__in=list(person_ids)).values_list("person_id", "pattern"):
        found.setdefault(person_id, []).append(pattern)
    return found


def check_destinations(errors, subject, *, current, merged, changed, rules,
                       destination_fields) -> None:
    """The org's destination policy, on each destination the proposal brings in: a value
    that changes, or one whose feature is turned on (so a destination stored while off
    cannot be switched on around the policy). Destinations already in use are left
    alone: the policy page lists them (policy_checks.forbidden_people) instead of every
    unrelated edit of their owner being refused."""
    check = subject.policy
    if check is None or not check.active:
        return
    for name in sorted(destination_fields):
        enabled = name.replace("_destination", "_enabled")
        value = merged[name]
        if value and name not in errors and (
                name in changed or (enabled in changed and merged[enabled])):
            reason = check.reason(name, value)
            if reason:
                errors.add(name, reason)
    old_targets = set() if "simring_enabled" in changed and merged["simring_enabled"] \
        else {destination_key(t) for t in current.get("simring_targets") or ()}
    for target in merged["simring_targets"] if "simring_targets" not in errors else ():
        if destination_key(target) not in old_targets:
            reason = check.reason("simring_targets", target)
            if reason:
                errors.add("simring_targets", f"{display_destination(target)}: {reason}")
    if rules is not None:
        old = {destination_key(r.get("destination") or "")
               for r in current.get("caller_rules", ())}
        for i, rule in enumerate(rules):
            destination = rule.get("destination") or ""
            if destination and destination_key(destination) not in old:
                reason = check.reason(f"caller_rules-{i}-destination", destination)
                if reason:
                    errors.add(f"caller_rules-{i}-destination", reason)


def exceptions_of(person):
    return PolicyException.objects.filter(person=person).order_by("pattern", "id")


def org_exceptions(org):
    return (PolicyException.objects.filter(org=org).select_related("person")
            .order_by("person__display_name", "pattern", "id"))


# --- who breaks the policy today -----------------------------------------------------------

FEATURE_OF_FIELD = {
    "always_destination": "always", "busy_destination": "busy",
    "no_answer_destination": "no_answer", "continuity_destination": "continuity",
    "window_destination": "time_window", "simring_targets": "simring",
    "caller_rules": "caller_rules",
}


@dataclass
class Breach:
    person: object
    feature: str
    destination: str
    reason: str


def _in_use(row: ForwardingSettings):
    """(feature, destination) of every destination the stored settings use."""
    for name in ("always", "busy", "no_answer", "continuity", "window"):
        if getattr(row, f"{name}_enabled") and getattr(row, f"{name}_destination"):
            yield FEATURE_OF_FIELD[f"{name}_destination"], getattr(row, f"{name}_destination")
    if row.simring_enabled:
        for target in row.simring_targets or ():
            yield "simring", target
    for rule in row.caller_rules.all():
        if rule.destination:
            yield "caller_rules", rule.destination


def forbidden_people(org, *, after_id: int = 0, limit: int = 50,
                     scan: int = 2000) -> tuple[list[Breach], int | None]:
    """The breaches of the org's policy in stored forwarding, people in id order from
    `after_id`, at most `limit` people and `scan` settings rows read per call; returns
    (breaches, the id to continue after or None when the org is done). Bounded so a page
    of a big org costs the same as one of a small one. Stored destinations are judged as
    an admin's edit would be (members' "inside the org only" binds their own edits)."""
    rules = rules_for_org(org)
    if rules is None:
        return [], None
    rows = list(ForwardingSettings.objects.filter(person__org=org, person_id__gt=after_id)
                .select_related("person").prefetch_related("caller_rules")
                .order_by("person_id")[:scan])
    exceptions = exceptions_by_person(r.person_id for r in rows)
    used = {d for row in rows for _f, d in _in_use(row) if not d.isdigit()}
    internal = set(people_behind(org, sorted(used), region=rules.region)) if used else set()
    breaches, people = [], 0
    for row in rows:
        found = []
        for feature, destination in _in_use(row):
            verdict = policy.decide(rules, destination, internal=destination in internal,
                                    exceptions=exceptions.get(row.person_id, ()))
            if not verdict.allowed:
                found.append(Breach(row.person, feature, destination, verdict.reason))
        if found:
            breaches.extend(found)
            people += 1
            if people >= limit:
                return breaches, row.person_id
    if len(rows) == scan:
        return breaches, rows[-1].person_id
    return breaches, None
