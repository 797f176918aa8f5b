"""What members may change themselves (issue 18, item 2): reading an org's locked
features, refusing a member's change to one, and the admins' service that sets them.

The lock binds a person acting on their own line who is not an admin of its org (own or
through a partner delegation): admins and partners change everything, as before. It is
checked inside forwarding.rules.services, before validation, so every write path obeys
it: the pages, the API, a restore of an old version (which leaves locked features as they
are, see `services.restore_changes`) and adopting the provider's state after drift.
Values equal to the stored ones (after the same normalisation validation applies) are not
a change: a page that posts every field saves with a locked feature untouched.

Event code written here: org.member_permissions_updated.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from forwarding.models import MEMBER_FEATURES, MemberPermissions
from forwarding.rules import validation
from forwarding.rules.caller_rules import check_caller_rules
from portal import access, audit
from portal.models import Membership, Organization

# How the refusal names each feature, inside "Your admins set ... for Acme".
FEATURE_PHRASES = {
    "always": "forwarding of all calls",
    "busy": "call forwarding when busy",
    "no_answer": "call forwarding when not answered",
    "continuity": "call forwarding when offline",
    "simring": "simultaneous ring",
    "caller_rules": "the rules per caller",
    "time_window": "the time window",
    "schedules": "the schedules (business hours and holidays)",
    "dnd": "do not disturb",
}
assert set(FEATURE_PHRASES) == set(MEMBER_FEATURES)


# --- reads ---------------------------------------------------------------------------------


def stored(org) -> MemberPermissions | None:
    return MemberPermissions.objects.filter(org_id=getattr(org, "pk", org)).first()


def locked_features(org) -> frozenset[str]:
    """The features members of `org` may not change (none when the org never set any)."""
    row = stored(org)
    return frozenset(row.locked) if row is not None else frozenset()


def locked_for(*, user, via_partner, person) -> frozenset[str]:
    """The features `user` may not change on `person`'s line: the org's locked features
    when they act on their own line as a plain member, else none. Costs no query unless
    the person is the user's own, and one more only when the org locked something."""
    if user is None or via_partner is not None or person.user_id != user.pk:
        return frozenset()
    locked = locked_features(person.org_id)
    if not locked or access.is_org_admin(user, person.org):
        return frozenset()
    return locked


def locked_for_actor(actor: audit.Actor, person) -> frozenset[str]:
    return locked_for(user=actor.user, via_partner=actor.via_partner, person=person)


def admin_to_ask(org) -> str | None:
    """The name of an admin of `org` a member can ask: whoever last set the permissions
    while they are still one of its own admins, else the first by address; None when the
    org has no admin of its own."""
    admins = Membership.objects.filter(org=org, role=Membership.ADMIN,
                                       user__is_active=True).select_related("user")
    row = stored(org)
    chosen = None
    if row is not None and row.updated_by_id is not None:
        chosen = admins.filter(user_id=row.updated_by_id).first()
    chosen = chosen or admins.order_by("user__email", "pk").first()
    if chosen is None:
        return None
    return chosen.user.get_full_name() or chosen.user.email


def refusal(org, feature: str, *, admin: str | None = None) -> str:
    """"Your admins set call forwarding when busy for Acme; ask Ada Admin or another
    admin of Acme." `admin`: the name to give (looked up when not given)."""
    admin = admin if admin is not None else admin_to_ask(org)
    ask = f"ask {admin} or another admin of {org.name}" if admin else \
        f"ask an admin of {org.name}"
    return f"Your admins set {FEATURE_PHRASES[feature]} for {org.name}; {ask}."


# --- enforcement (called by forwarding.rules.services) -----------------------------------


def enforce(*, actor, person, subject, current: dict, changes: dict,
            caller_rules: list | None) -> tuple[dict, list | None]:
    """`changes` and `caller_rules` without the locked features' values equal to the
    stored ones; raises ValidationError keyed by field for any other value of a locked
    feature (and changes nothing)."""
    locked = locked_for_actor(actor, person)
    if not locked:
        return changes, caller_rules
    refused: list[tuple[str, str]] = []
    touched = {f: v for f, v in changes.items() if validation.FIELD_FEATURES.get(f) in locked}
    if touched:
        errors = validation.Errors()
        # Normalised as validation would (numbers as E.164, schedules checked), so "+1 202
        # 555 0100" posted for a stored "+12025550100" is no change.
        proposed = validation.proposed_values(errors, touched, subject)
        for name in touched:
            default = validation.DEFAULTS[name]
            if name in errors or name not in proposed or \
                    proposed[name] != current.get(name, default):
                refused.append((name, validation.FIELD_FEATURES[name]))
        changes = {f: v for f, v in changes.items() if f not in touched}
    if caller_rules is not None and "caller_rules" in locked:
        errors = validation.Errors()
        schedules = []
        if subject.caps.supports("schedules"):
            schedules = current.get("schedules") or []
        rules = check_caller_rules(errors, caller_rules, subject, schedules)
        if errors.by_key or rules != current.get("caller_rules", []):
            refused.append(("caller_rules", "caller_rules"))
        caller_rules = None
    if refused:
        admin = admin_to_ask(person.org)
        raise ValidationError({name: [refusal(person.org, feature, admin=admin)]
                               for name, feature in refused})
    return changes, caller_rules


# --- the admins' service ----------------------------------------------------------------------


def member_permissions_update(*, org, locked, actor: audit.Actor) -> MemberPermissions:
    """Set which features members of `org` may not change themselves. Audited with the
    old and new lists; saving the same list writes nothing. ValidationError keyed
    "locked" for a name that is not a feature."""
    if not isinstance(locked, list | tuple | set | frozenset) or \
            not all(isinstance(name, str) for name in locked):
        raise ValidationError({"locked": ["Send the locked features as a list of names."]})
    unknown = sorted(set(locked) - set(MEMBER_FEATURES))
    if unknown:
        raise ValidationError({"locked": [
            f"Not a forwarding feature: {', '.join(unknown)}. Choose among "
            f"{', '.join(MEMBER_FEATURES)}."]})
    new = [name for name in MEMBER_FEATURES if name in set(locked)]
    with transaction.atomic():
        # The org row serialises two admins saving at once (the first save creates the row).
        Organization.objects.select_for_update().only("pk").get(pk=org.pk)
        row = MemberPermissions.objects.filter(org=org).first()
        old = list(row.locked) if row is not None else []
        if old == new:
            return row if row is not None else MemberPermissions(org=org, locked=new)
        row = row or MemberPermissions(org=org)
        row.locked = new
        row.updated_by = actor.user
        row.updated_by_label = actor.label[:200]
        row.save()
        audit.record(
            event=audit.Event.MEMBER_PERMISSIONS_UPDATED, actor=actor, org=org,
            old={"locked": old}, new={"locked": new},
            data={"locked": [n for n in new if n not in old],
                  "unlocked": [n for n in old if n not in new]},
        )
    return row
