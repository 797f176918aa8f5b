"""Writes of an org's destination policy and of the exceptions its admins grant: each
validated (errors keyed by field, nothing written then), saved and audited in one
transaction. Access is the caller's (an org admin, or a partner admin acting for the org).

Event codes written here: policy.updated (old and new values), policy.exception_granted,
policy.exception_revoked; all three announced to the org's event endpoints."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from forwarding.models import DestinationPolicy, PolicyException
from forwarding.rules import policy
from portal import audit

BOOL_FIELDS = ("allow_internal", "allow_sip", "allow_national", "allow_mobile",
               "allow_international", "members_outside_org")
LIST_FIELDS = ("international_countries", "deny_patterns", "allow_patterns", "sip_domains")
POLICY_FIELDS = BOOL_FIELDS + LIST_FIELDS
MAX_COUNTRIES = 250
MAX_DOMAINS = 50


def policy_values(row: DestinationPolicy | None) -> dict:
    """The policy's settings as JSON values; defaults (today's behaviour) for no row."""
    row = row or DestinationPolicy()
    return {name: list(getattr(row, name) or []) if name in LIST_FIELDS
            else getattr(row, name) for name in POLICY_FIELDS}


def _lines(value) -> list | None:
    if isinstance(value, str):
        return [line for line in value.replace(",", "\n").splitlines() if line.strip()]
    if value is None:
        return []
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    return None


def clean_policy(data: dict) -> dict:
    """The policy's values from `data` (a form's or the API's), checked; missing fields keep
    their defaults. Raises ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    values = policy_values(None)
    for name in set(data) - set(POLICY_FIELDS):
        errors[name] = ["This is not a policy setting."]
    for name in BOOL_FIELDS:
        if name in data:
            if not isinstance(data[name], bool):
                errors[name] = ["Choose yes or no."]
            else:
                values[name] = data[name]
    for name in LIST_FIELDS:
        if name not in data:
            continue
        items = _lines(data[name])
        if items is None:
            errors[name] = ["Send a list of text values."]
            continue
        if name == "international_countries":
            codes = [c.strip().upper() for c in items]
            bad = [c for c in codes if not policy.valid_region(c)]
            if bad:
                errors[name] = [f"Not a two-letter country code (ISO 3166): {', '.join(bad[:5])}."]
            elif len(codes) > MAX_COUNTRIES:
                errors[name] = [f"At most {MAX_COUNTRIES} countries."]
            values[name] = sorted(set(codes))
        elif name == "sip_domains":
            domains = [d.strip().lower().removeprefix("@") for d in items]
            bad = [d for d in domains if not _domain_ok(d)]
            if bad:
                errors[name] = [f"Not a domain name: {', '.join(bad[:5])}. Write it like "
                                "example.com."]
            elif len(domains) > MAX_DOMAINS:
                errors[name] = [f"At most {MAX_DOMAINS} domains."]
            values[name] = sorted(set(domains))
        else:
            patterns, problems = policy.parse_patterns(items)
            if problems:
                errors[name] = problems
            values[name] = patterns
    if errors:
        raise ValidationError(errors)
    return values


def _domain_ok(domain: str) -> bool:
    labels = domain.split(".")
    return len(domain) <= 253 and len(labels) >= 2 and all(
        label and len(label) <= 63 and label.replace("-", "").isalnum()
        and label.isascii() for label in labels)


def policy_update(*, org, data: dict, actor: audit.Actor) -> DestinationPolicy:
    """Create or change the org's policy with `data` (every field; missing ones take
    their defaults). Audited as policy.updated with the old and new values when
    anything changed."""
    values = clean_policy(data)
    with transaction.atomic():
        row = DestinationPolicy.objects.select_for_update().filter(org=org).first()
        old = policy_values(row) if row is not None else None
        if old == values:
            return row
        row = row or DestinationPolicy(org=org)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by_label = actor.label[:200]
        row.save()
        audit.record(event=audit.Event.POLICY_UPDATED, actor=actor, org=org, old=old,
                     new=values, data={"changed": sorted(
                         n for n in values if old is None or old[n] != values[n])})
    return row


def policy_remove(*, org, actor: audit.Actor) -> bool:
    """Remove the org's policy (back to today's behaviour); exceptions stay for a later
    policy. Audited as policy.updated with new=None."""
    with transaction.atomic():
        row = DestinationPolicy.objects.select_for_update().filter(org=org).first()
        if row is None:
            return False
        old = policy_values(row)
        row.delete()
        audit.record(event=audit.Event.POLICY_UPDATED, actor=actor, org=org, old=old,
                     new=None, data={"removed": True})
    return True


def exception_grant(*, person, pattern: str, note: str = "",
                    actor: audit.Actor) -> PolicyException:
    """Let `person` use destinations matching `pattern` ("" : any destination) whatever
    the policy says. Raises ValidationError keyed by field."""
    pattern = (pattern or "").strip()
    if pattern:
        try:
            pattern = policy.parse_pattern(pattern)
        except policy.PatternError as exc:
            raise ValidationError({"pattern": [str(exc)]}) from None
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": ["Use at most 200 characters."]})
    try:
        with transaction.atomic():
            row = PolicyException.objects.create(org=person.org, person=person,
                                                 pattern=pattern, note=note,
                                                 granted_by_label=actor.label[:200])
            audit.record(event=audit.Event.POLICY_EXCEPTION_GRANTED, actor=actor,
                         person=person, new={"pattern": pattern, "note": note},
                         data={"exception": row.pk})
    except IntegrityError:
        raise ValidationError({"pattern": [
            f"{person.display_name} has this exception already."]}) from None
    return row


def exception_revoke(*, exception: PolicyException, actor: audit.Actor) -> None:
    with transaction.atomic():
        old = {"pattern": exception.pattern, "note": exception.note}
        person = exception.person
        deleted, _ = PolicyException.objects.filter(pk=exception.pk).delete()
        if deleted:
            audit.record(event=audit.Event.POLICY_EXCEPTION_REVOKED, actor=actor,
                         person=person, old=old, data={"exception": exception.pk})
