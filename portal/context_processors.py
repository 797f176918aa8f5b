"""Navigation facts every page needs (kept to a few small queries), and the banner that
tells an org's admins its provider connection needs them."""

from portal import access
from portal.connections import selectors as connection_selectors
from providers.registry import PROVIDERS


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    admin_orgs = list(access.manageable_orgs(user).only("id", "name"))
    return {
        "nav_has_person": user.people.exists(),
        "nav_admin_orgs": admin_orgs,
        # Only admins can be concerned: members pay no query for it.
        "connection_banners": _banners(user) if admin_orgs else [],
    }


def _banners(user):
    return [{"org_id": org_id, "org_name": name, "provider": PROVIDERS[kind][0]}
            for org_id, name, kind in connection_selectors.orgs_waiting_for(user)]
