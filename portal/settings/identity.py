"""Settings of provider connections and sign-in with a work account (issue 14): the
portal's own registrations at Webex and Microsoft, where their token endpoints are, how
early tokens are renewed, and how Graph's notification tokens are checked.

Imported at the end of base.py; every value comes from the environment."""

import os

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()
# The defaults below point at the local sandbox in development and tests, and at the real
# providers in production. base.py is imported before production.py sets DEBUG = False,
# so production is recognised by its settings module, whatever DEBUG the environment says.
_PRODUCTION = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
# SANDBOX_DEFAULTS as in base.py: DEBUG's value unless set (`make run` sets it with DEBUG off).
_DEBUG = _env.bool("SANDBOX_DEFAULTS", default=_env.bool("DEBUG", default=True)) and \
    not _PRODUCTION
_SANDBOX = _env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")

# The portal's Webex integration (developer.webex.com > My Webex Apps > Integration):
# its redirect URI is PUBLIC_URL + /connection/webex/callback.
# In DEBUG the defaults are the registrations `make run` creates in the sandbox.
WEBEX_CLIENT_ID = _env.str("WEBEX_CLIENT_ID", default="portal-webex-demo" if _DEBUG else "")
WEBEX_CLIENT_SECRET = _env.str("WEBEX_CLIENT_SECRET",
                               default="demo-webex-secret" if _DEBUG else "")
# The portal's multi-tenant Microsoft Entra app (also the Teams calling bot): its redirect
# URI is PUBLIC_URL + /connection/microsoft/callback.
# Also the audience of Graph's notification tokens for an org without a connection of its
# own (portal.connections.selectors.bot_app_id); the sandbox's lines default to
# "sandbox-bot", so the demo works unconfigured.
MICROSOFT_CLIENT_ID = _env.str("MICROSOFT_CLIENT_ID", default="sandbox-bot" if _DEBUG else "")
MICROSOFT_CLIENT_SECRET = _env.str("MICROSOFT_CLIENT_SECRET",
                                   default="demo-microsoft-secret" if _DEBUG else "")
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
# Token lifetimes `make run` asks of the sandbox: short, so renewals show in the audit log.
DEMO_TOKEN_LIFETIME_SECONDS = _env.int("DEMO_TOKEN_LIFETIME_SECONDS", default=300)

# Graph's signed notifications (providers.bot_tokens): the OpenID configuration document
# whose JWKS signs them (Microsoft's for calling bots; the sandbox's in development), the
# issuers accepted, and the clock skew allowed on exp/nbf.
GRAPH_NOTIFICATION_OPENID_CONFIG = _env.str(
    "GRAPH_NOTIFICATION_OPENID_CONFIG",
    default=(f"{_SANDBOX}/aps/v1/.well-known/OpenIdConfiguration" if _DEBUG
             else "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"))
GRAPH_NOTIFICATION_ISSUERS = _env.list(
    "GRAPH_NOTIFICATION_ISSUERS",
    default=["https://api.botframework.com", "https://graph.microsoft.com"])
GRAPH_NOTIFICATION_LEEWAY_SECONDS = _env.int("GRAPH_NOTIFICATION_LEEWAY_SECONDS", default=60)
# False accepts every notification that knows the webhook's secret URL, as before issue 14:
# an emergency switch only (Microsoft's keys unreachable for long), see
# docs/graph-and-lync.md; each process logs a warning for every notification it lets in.
GRAPH_NOTIFICATION_AUTH = _env.bool("GRAPH_NOTIFICATION_AUTH", default=True)
if not GRAPH_NOTIFICATION_ISSUERS:
    raise ImproperlyConfigured("GRAPH_NOTIFICATION_ISSUERS names no issuer")
if not 0 <= GRAPH_NOTIFICATION_LEEWAY_SECONDS <= 600:
    raise ImproperlyConfigured("GRAPH_NOTIFICATION_LEEWAY_SECONDS must be 0 to 600")
if not _DEBUG and GRAPH_NOTIFICATION_AUTH and not GRAPH_NOTIFICATION_OPENID_CONFIG.startswith(
        "https://"):
    raise ImproperlyConfigured("GRAPH_NOTIFICATION_OPENID_CONFIG must be an https:// URL")

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
