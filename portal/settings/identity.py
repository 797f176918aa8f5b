"""Settings of provider connections and sign-in with a work account (issue 14): the
portal's own registrations at Webex and Microsoft, where their token endpoints are, how
early tokens are renewed, and how Graph's notification tokens are checked.

Imported at the end of base.py; every value comes from the environment."""

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()
_DEBUG = _env.bool("DEBUG", default=True)
_SANDBOX = _env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")

# The portal's Webex integration (developer.webex.com > My Webex Apps > Integration):
# its redirect URI is PUBLIC_URL + /connection/webex/callback.
WEBEX_CLIENT_ID = _env.str("WEBEX_CLIENT_ID", default="")
WEBEX_CLIENT_SECRET = _env.str("WEBEX_CLIENT_SECRET", default="")
# The portal's multi-tenant Microsoft Entra app (also the Teams calling bot): its redirect
# URI is PUBLIC_URL + /connection/microsoft/callback.
MICROSOFT_CLIENT_ID = _env.str("MICROSOFT_CLIENT_ID", default="")
MICROSOFT_CLIENT_SECRET = _env.str("MICROSOFT_CLIENT_SECRET", default="")
MICROSOFT_LOGIN_URL = _env.str(
    "MICROSOFT_LOGIN_URL",
    default=f"{_SANDBOX}/login" if _DEBUG else "https://login.microsoftonline.com",
).rstrip("/")

# Renew an access token when this share of its lifetime is left (Graph app tokens last
# 60 to 90 minutes, Webex's about 14 days), or at least this many seconds before expiry.
CONNECTION_RENEW_FRACTION = _env.float("CONNECTION_RENEW_FRACTION", default=0.25)
CONNECTION_RENEW_MIN_SECONDS = _env.int("CONNECTION_RENEW_MIN_SECONDS", default=120)
# How often beat looks for tokens to renew.
CONNECTION_RENEW_EVERY_SECONDS = _env.float("CONNECTION_RENEW_EVERY_SECONDS", default=30.0)
# A worker waits this long for another process's renewal of the same connection.
CONNECTION_RENEW_WAIT_SECONDS = _env.float("CONNECTION_RENEW_WAIT_SECONDS", default=20.0)
if not 0 < CONNECTION_RENEW_FRACTION < 1:
    raise ImproperlyConfigured("CONNECTION_RENEW_FRACTION must be between 0 and 1")
if CONNECTION_RENEW_EVERY_SECONDS <= 0 or CONNECTION_RENEW_WAIT_SECONDS <= 0:
    raise ImproperlyConfigured("CONNECTION_RENEW_* seconds must be positive")

# --- Sign in with a work account (allauth's OpenID Connect provider) -------------------
# One registration per identity provider; a provider whose client id is empty is not
# offered. The redirect URI to register is PUBLIC_URL + /accounts/oidc/<id>/login/callback/
# (<id>: microsoft, webex). Microsoft's discovery document is per tenant: its issuer
# must be one fixed tenant for the ID token's issuer check, so a deployment names its
# tenant (a GUID or a verified domain).
SIGNIN_MICROSOFT_CLIENT_ID = _env.str("SIGNIN_MICROSOFT_CLIENT_ID", default="")
SIGNIN_MICROSOFT_CLIENT_SECRET = _env.str("SIGNIN_MICROSOFT_CLIENT_SECRET", default="")
SIGNIN_MICROSOFT_TENANT = _env.str("SIGNIN_MICROSOFT_TENANT", default="")
if SIGNIN_MICROSOFT_CLIENT_ID and SIGNIN_MICROSOFT_TENANT in ("", "common", "organizations",
                                                             "consumers"):
    # Their discovery documents name an issuer template ({tenantid}) that no ID token
    # matches: allauth would refuse every sign-in.
    raise ImproperlyConfigured(
        "SIGNIN_MICROSOFT_TENANT must name your Microsoft Entra tenant (its id or a "
        "verified domain), not common/organizations/consumers, when "
        "SIGNIN_MICROSOFT_CLIENT_ID is set")
SIGNIN_MICROSOFT_SERVER_URL = _env.str(
    "SIGNIN_MICROSOFT_SERVER_URL",
    default=(f"{_SANDBOX}/login" if _DEBUG else "https://login.microsoftonline.com")
    + f"/{SIGNIN_MICROSOFT_TENANT}/v2.0/.well-known/openid-configuration",
)
SIGNIN_WEBEX_CLIENT_ID = _env.str("SIGNIN_WEBEX_CLIENT_ID", default="")
SIGNIN_WEBEX_CLIENT_SECRET = _env.str("SIGNIN_WEBEX_CLIENT_SECRET", default="")
SIGNIN_WEBEX_SERVER_URL = _env.str(
    "SIGNIN_WEBEX_SERVER_URL",
    default=(f"{_SANDBOX}/webex/v1" if _DEBUG else "https://webexapis.com/v1")
    + "/.well-known/openid-configuration",
)


def signin_providers(*, microsoft=("", "", ""), webex=("", "", "")):
    """SOCIALACCOUNT_PROVIDERS for allauth from (client id, secret, discovery URL) per
    identity provider; those without a client id are left out (not offered)."""
    apps = []
    for provider_id, name, (client_id, secret, server_url), extra in (
        # Microsoft's userinfo has no email_verified and no xms_edov: the ID token's
        # claims are the ones the portal's linking rule reads (portal.signin).
        ("microsoft", "Microsoft", microsoft, {"fetch_userinfo": False}),
        ("webex", "Webex", webex, {}),
    ):
        if not client_id:
            continue
        apps.append({
            "provider_id": provider_id, "name": name, "client_id": client_id,
            "secret": secret,
            "settings": {"server_url": server_url, "oauth_pkce_enabled": True,
                         "token_auth_method": "client_secret_post", **extra},
        })
    return {"openid_connect": {"APPS": apps, "SCOPE": ["openid", "email", "profile"]}}


SOCIALACCOUNT_PROVIDERS = signin_providers(
    microsoft=(SIGNIN_MICROSOFT_CLIENT_ID, SIGNIN_MICROSOFT_CLIENT_SECRET,
               SIGNIN_MICROSOFT_SERVER_URL),
    webex=(SIGNIN_WEBEX_CLIENT_ID, SIGNIN_WEBEX_CLIENT_SECRET, SIGNIN_WEBEX_SERVER_URL),
)
