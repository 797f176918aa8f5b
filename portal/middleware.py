"""Security headers the framework does not set by itself, and the viewer's time zone."""

import base64
import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import timezone

# No inline scripts or styles anywhere: everything is served from /static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)


def signin_origins():
    """Origins of the configured sign-in identity providers ("Sign in with Microsoft"
    posts to the portal, which redirects to the IdP: browsers apply form-action to that
    redirect too)."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    origins = []
    for app in apps:
        parts = urlsplit(app.get("settings", {}).get("server_url", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", CSP)

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.policy
        if origins := signin_origins():
            policy = policy.replace("form-action 'self'",
                                    "form-action 'self' " + " ".join(origins))
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def allow_form_action(response, origin: str):
    """Let the forms of this one response lead to `origin` too. Browsers apply
    form-action to every redirect a form submission follows, so a POST button whose
    answer redirects to a provider's consent page (the Connection page) needs the
    provider's origin listed; every other page keeps 'self' alone."""
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", CSP)
    response.headers["Content-Security-Policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {origin}")
    return response


def _hashes(values) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(v.encode()).digest()).decode() + "'"
        for v in sorted(set(values)))


def allow_inline_styles(response, *, elements=(), attributes=()):
    """Let this one response carry exactly these inline styles: `<style>` elements with
    these texts (their hashes in `style-src`) and style attributes with these values
    (`style-src-attr 'unsafe-hashes'` with theirs). For a third-party page the portal does
    not write, DRF's browsable API, whose templates style a few things inline. Any other
    inline style, and every inline script, stays refused."""
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", CSP)
    if elements:
        policy = policy.replace("style-src 'self'", f"style-src 'self' {_hashes(elements)}")
    if attributes:
        policy += f"; style-src-attr 'unsafe-hashes' {_hashes(attributes)}"
    response.headers["Content-Security-Policy"] = policy
    return response


def viewer_zone_name(user) -> str:
    """The zone a signed-in user reads times in: their own line's (its zone, else its
    org's), else the zone of the first org they belong to, else UTC. One query."""
    from django.db.models import OuterRef, Subquery

    from portal.models import Membership, Person, User  # the app registry is ready by now

    lines = Person.objects.filter(user=OuterRef("pk")).order_by("id")
    orgs = Membership.objects.filter(user=OuterRef("pk")).order_by("id")
    found = User.objects.filter(pk=user.pk).values_list(
        Subquery(lines.values("time_zone")[:1]),
        Subquery(lines.values("org__time_zone")[:1]),
        Subquery(orgs.values("org__time_zone")[:1]),
    ).first()
    return next((name for name in found or () if name), "UTC")


class TimeZoneMiddleware:
    """Pages show every instant (history, audit log, jobs, calls) in the viewer's zone:
    templates' |date and timezone.localtime read the zone activated here. The API keeps
    answering in UTC with an offset, whoever asks, so it is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from portal.timezones import zone

        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") or user is None or not user.is_authenticated:
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(zone(viewer_zone_name(user)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LeanPathMiddleware:
    """Machine-to-machine endpoints (the Graph bot's webhook) skip every middleware below
    this one: no session, CSRF, authentication, messages, allauth or CSP work for a
    request that carries no cookie, signs nobody in and renders no page.

    Paths under LEAN_PATH_PREFIXES are resolved against LEAN_URLCONF (the few views that
    need none of that) and their view is called here. Anything else under those prefixes
    goes through the whole stack as before: a path the lean URLconf does not know, and a
    view's Http404 (an unknown webhook key), which then gets the site's own 404 page like
    any other unknown URL. Middleware above this one (SecurityMiddleware) still applies.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "LEAN_PATH_PREFIXES", ()))
        self.urlconf = getattr(settings, "LEAN_URLCONF", None)

    def __call__(self, request):
        if not self.prefixes or not request.path_info.startswith(self.prefixes):
            return self.get_response(request)
        try:
            match = resolve(request.path_info, self.urlconf)
        except Resolver404:
            return self.get_response(request)
        request.resolver_match = match
        try:
            return match.func(request, *match.args, **match.kwargs)
        except Http404:
            return self.get_response(request)


class AccessScopeMiddleware:
    """One request, one reading of the user's admin orgs and delegations (portal.access)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from portal import access

        with access.request_scope():
            return self.get_response(request)
