"""Navigation facts every page needs (kept to two small queries)."""

from portal import access


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_has_person": user.people.exists(),
        "nav_admin_orgs": list(access.manageable_orgs(user).only("id", "name")),
    }
