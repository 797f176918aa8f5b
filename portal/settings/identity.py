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
# In DEBUG the defaults are the registrations `make run` creates in the sandbox.
WEBEX_CLIENT_ID = _env.str("WEBEX_CLIENT_ID", default="portal-webex-demo" if _DEBUG else "")
WEBEX_CLIENT_SECRET = _env.str("WEBEX_CLIENT_SECRET",
                               default="demo-webex-secret" if _DEBUG else "")
# The portal's multi-tenant Microsoft Entra app (also the Teams calling bot): its redirect
# URI is PUBLIC_URL + /connection/microsoft/callback.
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
