"""Test settings: the base settings against the real services named by DATABASE_URL and
REDIS_URL (make test points them at the local PostgreSQL and Redis)."""

from .base import *  # noqa: F403
from .base import _env_int, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes of integration tests may write mail to files the test reads.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
DEBUG = False
# The provider sandbox runs on 127.0.0.1 over http.
PROVIDER_ALLOW_LOOPBACK = True
# Unit tests assert what a webhook queues, inside a transaction no other thread can see:
# there the redirect goes through the queue. tests/integration turn the threads on.
GRAPH_REDIRECT_THREADS = _env_int("GRAPH_REDIRECT_THREADS", 0)
# The sandbox's event receiver listens on 127.0.0.1 over http.
EVENTS_ALLOW_INSECURE_URLS = env.bool("EVENTS_ALLOW_INSECURE_URLS", default=True)
