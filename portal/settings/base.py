"""Settings shared by every environment, read from the environment (twelve-factor).

Defaults here are for a developer laptop: SQLite under var/, a Celery broker on the
filesystem, console email. production.py removes every default that is unsafe.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

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


DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of the portal, used in emails and in provider callback URLs.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

# Credentials of provider connections are encrypted with this key (Fernet, any string;
# it is stretched). Rotating SECRET_KEY must not lose them, hence a key of its own.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=SECRET_KEY)

INSTALLED_APPS = [
    "django.contrib.admin",
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
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
    # The same backend, health-checking only connections that sat idle (see its module).
    _db["ENGINE"] = "portal.db.backends.postgresql"
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

# --- django-allauth -------------------------------------------------------------------
ACCOUNT_ADAPTER = "portal.adapters.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {
    # Five wrong passwords per account per five minutes, twenty per address per minute.
    "login_failed": "20/m/ip,5/300s/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Call forwarding portal"

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
SPECTACULAR_SETTINGS = {
    "TITLE": "Call forwarding portal API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
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

# Timeouts of every outbound provider call (seconds): connect, read.
PROVIDER_TIMEOUT = (env.float("PROVIDER_CONNECT_TIMEOUT", default=3.05),
                    env.float("PROVIDER_READ_TIMEOUT", default=10.0))
# Threads per web process that redirect Graph calls without going through the broker
# (forwarding.fastpath); 0 sends every redirect through the `calls` queue.
GRAPH_REDIRECT_THREADS = _env_int("GRAPH_REDIRECT_THREADS", 8)
# Base URL of the local provider sandbox that the demo organisations point at.
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8025").rstrip("/")

# Bulk changes (forwarding.bulk_drafts): what one CSV import or bulk edit may ask for.
BULK_MAX_ROWS = _env_int("BULK_MAX_ROWS", 100_000)  # data rows of one CSV file
BULK_MAX_UPLOAD_BYTES = _env_int("BULK_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
BULK_EDIT_MAX_PEOPLE = _env_int("BULK_EDIT_MAX_PEOPLE", 1_000)  # ids of one bulk edit
BULK_DRAFT_SECONDS = _env_int("BULK_DRAFT_SECONDS", 3600)  # a dry run waits this long
BULK_DRAFTS_PER_USER = _env_int("BULK_DRAFTS_PER_USER", 5)  # the oldest one goes first
# Files with more rows than this are checked by a worker on the bulk queue, with a
# progress page; smaller ones within the request.
BULK_INLINE_DRY_RUN_ROWS = _env_int("BULK_INLINE_DRY_RUN_ROWS", 2_000)
# The worker's dry run of a file at BULK_MAX_ROWS takes about a minute: longer than the
# default task limits, which are sized for pushes.
BULK_DRY_RUN_TIME_LIMIT = _env_int("BULK_DRY_RUN_TIME_LIMIT", 600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
