"""The person page's side of what members may change themselves
(forwarding.rules.permissions): which features the viewer may not change on the person
shown, and the sentence each locked card shows. The service refuses those changes
whatever the page sends; the page only says so before anyone tries."""

from __future__ import annotations

from forwarding.rules import permissions
from portal import access
from providers.capabilities import FEATURE_LABELS


def locked(request, person) -> frozenset[str]:
    """The features `request.user` may not change on `person` (none for admins and
    partners, and for members of an org that locked nothing)."""
    return permissions.locked_for(
        user=request.user, person=person,
        via_partner=access.acting_partner(request.user, person))


def notes(person, features) -> dict[str, str]:
    """feature -> "Your admins set ... for Acme; ask Ada Admin or another admin of Acme."
    (one lookup of the admin to name, whatever the number of features)."""
    if not features:
        return {}
    admin = permissions.admin_to_ask(person.org)
    return {feature: permissions.refusal(person.org, feature, admin=admin)
            for feature in features}


def cards(form, caps) -> list[tuple[str, str]]:
    """(feature, label) of the Schedules and Rules per caller cards shown read-only: the
    locked ones the provider has."""
    return [(feature, FEATURE_LABELS[feature]) for feature in ("schedules", "caller_rules")
            if feature in form.locked_notes and caps.supports(feature)]
