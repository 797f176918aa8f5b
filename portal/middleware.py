"""Security headers the framework does not set by itself."""

from urllib.parse import urlsplit

from django.conf import settings

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
