"""Test settings: the base settings against the real services named by DATABASE_URL and
REDIS_URL (make test points them at the local PostgreSQL and Redis)."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
