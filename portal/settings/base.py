"""Settings shared by every environment, read from the environment (twelve-factor).

Defaults here are for a developer laptop: SQLite under var/, a Celery broker on the
filesystem, console email. production.py removes every default that is unsafe.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.crypto import split_keys

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _database_url(name, default):
    """Parse DATABASE_URL; a malformed value stops start-up and names the variable."""
    raw = env.str(name, default=default)
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in environ.Env.DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} is malformed ({raw!r}): expected e.g. postgres://user@host:5432/name "
            f"or sqlite:////path/to/file"
        )
    try:
        return raw, env.db_url_config(raw)
    except Exception as exc:  # environ raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is malformed ({raw!r}): {exc}") from exc


def _env_int(name, default):
    try:
        return env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


def _env_float(name, default):
    try:
        return env.float(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number") from exc


def _provider_hosts(name, defaults):
    """defaults plus the "kind=host" / "host" entries of the variable `name`."""
    from providers.registry import PROVIDERS

    table = {kind: list(hosts) for kind, hosts in defaults.items()}
    for entry in env.list(name, default=[]):
        kind, _sep, host = entry.strip().rpartition("=")
        host = host.strip().lower()
        if (kind and kind not in PROVIDERS) or not host or "/" in host or ":" in host:
            raise ImproperlyConfigured(
                f"{name} has a malformed entry {entry!r}: expected host, .domain or "
                f"kind=host with kind one of {', '.join(PROVIDERS)}")
        table.setdefault(kind or "*", []).append(host)
    return table


DEBUG = env.bool("DEBUG", default=True)
# Defaults that point at the local sandbox (provider URLs, demo client ids, loopback base
# URLs): on in development and tests. `make run` keeps them with DEBUG off (the site's own
# 404 and 500 pages); production.py and identity.py turn them off in production.
SANDBOX_DEFAULTS = env.bool("SANDBOX_DEFAULTS", default=DEBUG)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of the portal, used in emails and in provider callback URLs.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

# Credentials of provider connections are encrypted with these keys (portal/crypto.py):
# one Fernet key or several separated by commas, newest first; the newest encrypts, any
# decrypts. Rotating SECRET_KEY must not lose them, hence keys of their own. Outside
# production a passphrase is accepted and stretched (the demo default: SECRET_KEY).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="") or SECRET_KEY
if not split_keys(FIELD_ENCRYPTION_KEY):
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY holds no key (only commas or spaces)")

INSTALLED_APPS = [
    "portal.admin_apps.PortalAdminConfig",  # django.contrib.admin, TOTP required
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "portal",
    "forwarding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Graph webhook stops here: none of the middleware below serves it.
    "portal.middleware.LeanPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.AccessScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.TimeZoneMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
# What LEAN_URLCONF lists under these prefixes skips the middleware below LeanPathMiddleware.
LEAN_PATH_PREFIXES = ["/webhooks/"]
LEAN_URLCONF = "forwarding.pages.urls_webhooks"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL, _db = _database_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
_db.setdefault("CONN_MAX_AGE", _env_int("CONN_MAX_AGE", 60))
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, health-checking only connections that sat idle, with prepared
    # statements for the hot paths' hand-written SQL (see its module).
    _db["ENGINE"] = "portal.db.backends.postgresql"
    # Django turns prepared statements off unless OPTIONS has a threshold; only the
    # backend's prepared_cursor() uses them (the ORM's own queries bind on the client,
    # which never prepares). Off for a connection pooler that cannot keep them (PgBouncer
    # in transaction mode before 1.21).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        _db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # The same backend, with the two PostgreSQL functions of a Person index (see its module).
    _db["ENGINE"] = "portal.db.backends.sqlite3"
if _db["ENGINE"].endswith("sqlite3"):
    # SQLite is the zero-setup demo database; WAL lets the worker and the web server share it.
    _db.setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    _db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    _db["OPTIONS"]["timeout"] = 20
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL is malformed ({REDIS_URL!r}): expected redis://host:port/db")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    # A file cache is shared by all local processes, so login rate limits still hold
    # across the web server's threads and restarts without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = _env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# --- django-allauth: sign-in, two-factor, work accounts ------------------------
from portal.settings.accounts import *  # noqa: E402, F403

# Reverse proxies in front of the web processes that append to X-Forwarded-For: the
# client is the entry this many hops from the right; 0 ignores the header (REMOTE_ADDR).
# One number for the audit rows (portal.clientip), allauth's login rate limits and DRF.
TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Whether /api/schema/ and /api/docs/ are served to anonymous visitors (see
# forwarding/api/docs.py); production turns it off.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # DRF's throttles, if ever turned on
SPECTACULAR_SETTINGS = {
    "TITLE": "Call forwarding portal API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The forwarding features are one enum wherever they appear (supported features,
    # the features members may not change).
    "ENUM_NAME_OVERRIDES": {"FeatureNameEnum": "providers.capabilities.FEATURES"},
}

# --- Celery ---------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Publishing (kombu's default channel) retries a refused connection once, at once:
    # enough for a pooled connection that went stale, while a broker that is down costs a
    # saving person a few milliseconds instead of kombu's default 2 seconds of backoff
    # (the change is safe in the database; the sweeper enqueues it). Workers' consumers
    # keep their own reconnect policy (broker_connection_max_retries).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "max_retries": 1,
                                       "interval_start": 0, "interval_step": 0}
else:
    # No server needed: kombu's filesystem transport, so `make run` works anywhere.
    for _folder in ("out", "processed", "control"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = _env_int("CELERY_TASK_TIME_LIMIT", 90)

# --- Push pipeline tunables (forwarding.sync: delivery, outbox, drift) -----------------
# Read here once, checked, and used by the pipeline through django.conf.settings.


def _positive(name, value, *, allow_zero=False):
    if value < 0 or (value == 0 and not allow_zero):
        raise ImproperlyConfigured(
            f"{name} must be {'zero or more' if allow_zero else 'more than zero'} (got {value})")
    return value


PUSH_MAX_ATTEMPTS = _positive("PUSH_MAX_ATTEMPTS", _env_int("PUSH_MAX_ATTEMPTS", 8))
PUSH_BACKOFF_BASE = _positive("PUSH_BACKOFF_BASE", _env_float("PUSH_BACKOFF_BASE", 1.0))
PUSH_BACKOFF_CAP = _positive("PUSH_BACKOFF_CAP", _env_float("PUSH_BACKOFF_CAP", 300.0))
if PUSH_BACKOFF_CAP < PUSH_BACKOFF_BASE:
    raise ImproperlyConfigured(
        f"PUSH_BACKOFF_CAP ({PUSH_BACKOFF_CAP:g}) must not be below PUSH_BACKOFF_BASE "
        f"({PUSH_BACKOFF_BASE:g})")
# A push waiting for its org's connection is looked at again this often, even without
# the "connection restored" signal.
PUSH_WAITING_RECHECK_SECONDS = _positive(
    "PUSH_WAITING_RECHECK_SECONDS", _env_float("PUSH_WAITING_RECHECK_SECONDS", 60.0))
PUSH_SWEEP_GRACE = _positive("PUSH_SWEEP_GRACE", _env_float("PUSH_SWEEP_GRACE", 15.0),
                             allow_zero=True)
PUSH_DEBOUNCE_SECONDS = _positive(
    "PUSH_DEBOUNCE_SECONDS", _env_float("PUSH_DEBOUNCE_SECONDS", 0.5), allow_zero=True)
PUSH_MAX_COUNTDOWN = _positive("PUSH_MAX_COUNTDOWN", _env_float("PUSH_MAX_COUNTDOWN", 300.0))
# Pushes that run late (busy workers) catch up at most this many seconds' worth of the
# org's rate at once (forwarding.sync.ratelimit.admit): a late backlog never bursts
# past the provider's own bucket into a run of 429s.
PUSH_BURST_SECONDS = _positive("PUSH_BURST_SECONDS", _env_float("PUSH_BURST_SECONDS", 0.5),
                               allow_zero=True)
DRIFT_CHECK_MINUTES = _positive("DRIFT_CHECK_MINUTES", _env_float("DRIFT_CHECK_MINUTES", 60.0))

# --- Push claims and the task hard time limit ------------------------------------------
# A push claims its person's row until PUSH_CLAIM_SECONDS from now (forwarding.sync.delivery). An
# expired claim must mean "its worker is gone": were it shorter than the hard time limit,
# a slow but living task would lose its claim and a second worker would push the same
# person at the same time. So the claim is derived from the limit, and an explicit value
# must exceed it by at least PUSH_CLAIM_MIN_MARGIN: a second, five times the clock skew
# the pipeline already tolerates between machines (sync.EARLY_TOLERANCE). The limit is
# enforced by the prefork pool that runs pushes (queues interactive and bulk).
PUSH_CLAIM_MIN_MARGIN = 1.0
PUSH_CLAIM_DEFAULT_MARGIN = 30.0
if CELERY_TASK_TIME_LIMIT <= 0:
    raise ImproperlyConfigured(
        f"CELERY_TASK_TIME_LIMIT must be a positive number of seconds "
        f"(got {CELERY_TASK_TIME_LIMIT}): without a hard limit a hung push holds its claim"
    )
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT}) must be positive and "
        f"below CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT})"
    )
PUSH_CLAIM_SECONDS = _env_float("PUSH_CLAIM_SECONDS",
                                CELERY_TASK_TIME_LIMIT + PUSH_CLAIM_DEFAULT_MARGIN)
if PUSH_CLAIM_SECONDS < CELERY_TASK_TIME_LIMIT + PUSH_CLAIM_MIN_MARGIN:
    raise ImproperlyConfigured(
        f"PUSH_CLAIM_SECONDS ({PUSH_CLAIM_SECONDS:g}) must exceed CELERY_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT}) by at least {PUSH_CLAIM_MIN_MARGIN:g} s, or a push "
        f"still running loses its claim to a second worker; unset PUSH_CLAIM_SECONDS to "
        f"derive it (CELERY_TASK_TIME_LIMIT + {PUSH_CLAIM_DEFAULT_MARGIN:g})"
    )
# Celery's Django fixup closes every database connection before and after each task
# unless this is set; a new PostgreSQL connection per task cost the call bot about 4 ms
# of CPU per redirect. portal/celery.py applies CONN_MAX_AGE and the health checks
# around each task instead, as Django does around each request.
CELERY_DB_REUSE_MAX = 1_000_000
if _db["ENGINE"].endswith("sqlite3"):
    # django-celery-beat's scheduler trips over SQLite's locking ("cannot open savepoint");
    # the zero-setup demo keeps beat's schedule in a file instead.
    CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
    CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
    _BEAT_EXPIRY = {"expires": 2.0}
else:
    CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
    _BEAT_EXPIRY = {"expire_seconds": 2}  # django-celery-beat's name for `expires`
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang when the broker is down: the change is already safe in the
# database and the sweeper will enqueue it.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
# Synced into django-celery-beat's tables at start-up; admins can change them there.
CELERY_BEAT_SCHEDULE = {
    "sweep-pushes": {"task": "forwarding.sweep",
                     "schedule": env.float("SWEEP_EVERY_SECONDS", default=5.0)},
    # Expires after one period: runs do not pile up while the calls workers are away.
    "recover-calls": {"task": "forwarding.recover_calls", "schedule": 2.0,
                      "options": {"queue": "calls", **_BEAT_EXPIRY}},
    "tick-time-windows": {"task": "forwarding.tick_windows", "schedule": 30.0},
    "drift-check": {"task": "forwarding.drift_check_all", "schedule": 300.0,
                    "options": {"queue": "bulk"}},
}

# --- Retention (forwarding/retention.py) ----------------------------------------------
# How long rows that only tell history are kept, in days; 0 keeps them forever. The audit
# log is kept whole (append-only; the database refuses DELETE and TRUNCATE on it).
def _retention_days(name, default):
    days = _env_int(name, default)
    if days < 0:
        raise ImproperlyConfigured(f"{name} must be a number of days, 0 to keep forever")
    return days


RETENTION_PUSH_ATTEMPTS_DAYS = _retention_days("RETENTION_PUSH_ATTEMPTS_DAYS", 90)
RETENTION_CALL_RECORDS_DAYS = _retention_days("RETENTION_CALL_RECORDS_DAYS", 90)
# Rows of finished bulk jobs (what undo needs), then the jobs; undo is refused after it.
RETENTION_BULK_JOBS_DAYS = _retention_days("RETENTION_BULK_JOBS_DAYS", 180)
# Stored dry runs past their expiry (BULK_DRAFT_SECONDS) nobody will apply; new uploads
# also delete expired ones, this catches the org whose admins upload nothing more.
RETENTION_BULK_DRAFTS_DAYS = _retention_days("RETENTION_BULK_DRAFTS_DAYS", 1)
# Hourly, in batches of 1,000 rows, each run stopping within half the soft time limit.
CELERY_BEAT_SCHEDULE["prune-old-rows"] = {
    "task": "forwarding.prune_old_rows", "schedule": 3600.0, "options": {"queue": "bulk"},
}

# Timeouts of every outbound provider call (seconds): connect, read.
PROVIDER_TIMEOUT = (env.float("PROVIDER_CONNECT_TIMEOUT", default=3.05),
                    env.float("PROVIDER_READ_TIMEOUT", default=10.0))
# Hosts an organization's provider base URL may point at (its bearer token is sent there),
# by provider kind. PROVIDER_BASE_URL_ALLOWED_HOSTS adds entries, comma-separated:
# "kind=host" for one kind, "host" for every kind; a leading dot also allows subdomains
# (".example.com"). Loopback addresses (the sandbox) only with PROVIDER_ALLOW_LOOPBACK.
PROVIDER_BASE_URL_ALLOWED_HOSTS = _provider_hosts("PROVIDER_BASE_URL_ALLOWED_HOSTS", {
    "webex": ["webexapis.com"],
    "graph": ["graph.microsoft.com"],
    "ucwa": [],  # on-premises servers: each deployment lists its own
    "lync": [],  # nothing is sent: the rules go out as a downloaded manifest
})
PROVIDER_ALLOW_LOOPBACK = env.bool("PROVIDER_ALLOW_LOOPBACK", default=SANDBOX_DEFAULTS)
# Threads per web process that redirect Graph calls without going through the broker
# (forwarding.calltime.threads); 0 sends every redirect through the `calls` queue.
GRAPH_REDIRECT_THREADS = _env_int("GRAPH_REDIRECT_THREADS", 8)
# The Graph webhook's guards (forwarding.calltime.guard): the largest body read (Graph's
# notifications are 1-3 KB; the parser takes at most 100 in one body), how deeply its JSON
# may nest (Graph's: about 8), and requests per second per org, counted over fixed windows
# of GRAPH_WEBHOOK_RATE_WINDOW seconds in Redis (0 turns the limit off).
GRAPH_WEBHOOK_MAX_BYTES = _env_int("GRAPH_WEBHOOK_MAX_BYTES", 256 * 1024)
GRAPH_WEBHOOK_MAX_DEPTH = _env_int("GRAPH_WEBHOOK_MAX_DEPTH", 32)
GRAPH_WEBHOOK_RATE_PER_ORG = _env_int("GRAPH_WEBHOOK_RATE_PER_ORG", 100)
GRAPH_WEBHOOK_RATE_WINDOW = _env_int("GRAPH_WEBHOOK_RATE_WINDOW", 10)
for _name in ("GRAPH_WEBHOOK_MAX_BYTES", "GRAPH_WEBHOOK_MAX_DEPTH", "GRAPH_WEBHOOK_RATE_WINDOW"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more")
if GRAPH_WEBHOOK_RATE_PER_ORG < 0:
    raise ImproperlyConfigured("GRAPH_WEBHOOK_RATE_PER_ORG must be 0 or more")
# Outgoing events (portal.events, docs/events.md): their settings are in events.py.
from portal.settings.events import *  # noqa: E402, F403

CELERY_BEAT_SCHEDULE["sweep-events"] = {
    "task": "portal.sweep_events", "schedule": EVENTS_SWEEP_SECONDS,  # noqa: F405
    "options": {"queue": "interactive", **_BEAT_EXPIRY},
}
# Base URL of the local provider sandbox that the demo organisations point at.
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")

# Bulk changes (forwarding.bulk): their settings are in bulk.py.
from portal.settings.bulk import *  # noqa: E402, F403

CELERY_BEAT_SCHEDULE["resume-stalled-bulk-jobs"] = {  # noqa: F405
    "task": "forwarding.resume_stalled_jobs",
    "schedule": BULK_STALLED_CHECK_SECONDS,  # noqa: F405
    "options": {"queue": "bulk"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# The Graph webhook's key is in its path: out of every line that prints a path. On the
# loggers that print paths (so that Django's own handlers of the "django" logger see the
# redacted record too), and on the console handler for anything else.
LOGGING["filters"] = {"redact_webhook_keys": {"()": "portal.logredact.RedactWebhookKeys"}}
LOGGING["handlers"]["console"]["filters"] = ["redact_webhook_keys"]
LOGGING["formatters"]["django.server"] = {  # Django's default, for runserver's access log
    "()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
    "style": "{"}
LOGGING["handlers"]["django.server"] = {"class": "logging.StreamHandler",
                                        "formatter": "django.server"}
LOGGING["loggers"]["django.request"] = {"filters": ["redact_webhook_keys"]}
LOGGING["loggers"]["django.server"] = {"handlers": ["django.server"], "level": "INFO",
                                       "propagate": False, "filters": ["redact_webhook_keys"]}

from portal.settings.identity import *  # noqa: E402, F403  (connections and sign-in)

CELERY_BEAT_SCHEDULE["renew-connections"] = {
    "task": "portal.renew_connections", "schedule": CONNECTION_RENEW_EVERY_SECONDS,  # noqa: F405
    "options": {"queue": "interactive", **_BEAT_EXPIRY},
}
