"""The Delivery line of a person's page: the sync badge, its actions, the drift notice and
the result of the last "Compare with <provider>". One context for the page and for the
small JSON view its script polls, so both say the same thing in the same words."""

from __future__ import annotations

from django.utils import timezone

from forwarding.models import SyncStatus
from forwarding.rules import selectors, services
from portal import access

# States that change by themselves (a worker, a retry or a reconnection moves them on):
# the page's script polls while the badge shows one of these.
MOVING = frozenset({SyncStatus.PENDING, SyncStatus.PUSHING, SyncStatus.RETRYING,
                    SyncStatus.WAITING})


def drift_description(current, settings, caps):
    """The provider's state (as read back by a drift check) in the page's plain words."""
    if not settings.drift_state:
        return []
    theirs = {**current, **settings.drift_state, "window_enabled": False, "caller_rules": []}
    return [item for item in selectors.describe(theirs, caps=caps) if item["on"]] or [
        {"label": "Forwarding", "text": "off"}]


def settled(settings, caps) -> bool:
    """Whether the badge can stay as it is until the person changes something."""
    if settings is None or not settings.pk or caps.delivery != "push":
        return True
    return settings.sync_status not in MOVING


def checked_at_words(value) -> str:
    """"10:42 CET" today, "Tue 03 Mar 10:42 CET" otherwise, in the viewer's time zone."""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def compare_words(settings, caps) -> str:
    """The result of the last read-back, or "" when none was made."""
    if settings is None or not settings.pk or not settings.drift_checked_at:
        return ""
    at = checked_at_words(settings.drift_checked_at)
    if settings.drift_state:
        return f"Checked at {at}: {caps.label} differs from the portal (see below)."
    return f"Checked at {at}: matches {caps.label}."


def context(request, person, settings, caps) -> dict:
    """What templates/forwarding/_delivery.html needs."""
    current = services.values(settings)
    return {
        "person": person,
        "settings": settings,
        "caps": caps,
        "sync": selectors.sync_view(settings if settings.pk else None, caps),
        "read_only": access.needs_mfa(request.user, person),
        "can_admin": access.is_org_admin(request.user, person.org),
        "drift_description": drift_description(current, settings, caps),
        "compare": compare_words(settings, caps),
        "settled": settled(settings, caps),
        # The script tells a new comparison from the last one by this exact string.
        "checked_at": (settings.drift_checked_at.isoformat()
                       if settings.pk and settings.drift_checked_at else ""),
    }
