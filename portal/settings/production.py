"""Production settings: no unsafe defaults. Every required variable must be set.

A missing variable stops start-up with ImproperlyConfigured naming it.
"""

from importlib.util import find_spec
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from portal.crypto import strict_problems

from .base import *  # noqa: F403
from .base import env

DEBUG = False
# A provider token never goes to this machine or its neighbours (the sandbox is for
# development and tests).
PROVIDER_ALLOW_LOOPBACK = False
EVENTS_ALLOW_INSECURE_URLS = False


def _require(name):
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable (required in production)")
    return value


SECRET_KEY = _require("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY is too short: use at least 50 random characters")
FIELD_ENCRYPTION_KEY = _require("FIELD_ENCRYPTION_KEY")
_key_problems = strict_problems(FIELD_ENCRYPTION_KEY)
if _key_problems:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY: " + "; ".join(_key_problems))
_require("DATABASE_URL")
# Celery's broker, the shared push rate limiter and the login rate limits: without Redis
# the base settings fall back to a filesystem broker and cache local to one machine.
_require("REDIS_URL")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable (comma-separated)")

# Links in invitations and password resets, and the webhook URL registered with
# providers, are built from PUBLIC_URL: the local default would send people to 127.0.0.1.
PUBLIC_URL = _require("PUBLIC_URL").rstrip("/")
_public = urlsplit(PUBLIC_URL)
if _public.scheme != "https" or not _public.hostname:
    raise ImproperlyConfigured(
        f"PUBLIC_URL must be the site's https:// address, e.g. https://portal.example.com "
        f"(got {PUBLIC_URL!r})"
    )
if not validate_host(_public.hostname, ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"PUBLIC_URL's host {_public.hostname!r} is not in ALLOWED_HOSTS: links and "
        f"provider callbacks to it would be refused"
    )

# Invitations and password resets must reach people: a backend that prints, keeps or
# drops messages would lose them silently.
EMAIL_BACKEND = _require("EMAIL_BACKEND")
_UNDELIVERED_MAIL = {
    "django.core.mail.backends.console.EmailBackend": "prints messages",
    "django.core.mail.backends.locmem.EmailBackend": "keeps messages in memory",
    "django.core.mail.backends.dummy.EmailBackend": "drops messages",
    "django.core.mail.backends.filebased.EmailBackend": "writes messages to files",
}
if EMAIL_BACKEND in _UNDELIVERED_MAIL:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND {EMAIL_BACKEND} {_UNDELIVERED_MAIL[EMAIL_BACKEND]} instead of "
        f"sending them: set a real one, e.g. django.core.mail.backends.smtp.EmailBackend"
    )
_email_module = EMAIL_BACKEND.rpartition(".")[0]
try:
    _email_found = bool(_email_module) and find_spec(_email_module) is not None
except ImportError:
    _email_found = False
if not _email_found:
    raise ImproperlyConfigured(f"EMAIL_BACKEND {EMAIL_BACKEND!r}: no such module")

# The API schema and docs are for account holders (forwarding/api/docs.py).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
# No script of the site reads the CSRF cookie (forms and the API docs carry the token).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
