"""Running manage.py under the production settings, for the tests of configuration and
of what production refuses (used by several test modules)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7!kq2#v9-prod-secret-key-for-the-deploy-check-0123456789abcdefghij",
    # A Fernet key (32 random bytes, urlsafe base64), as `python -m portal.crypto generate`
    # prints; test use only.
    "FIELD_ENCRYPTION_KEY": "7Rh7NH_xC45covH82Wo_yQVITLb5OtgHn33xfC4dx0w=",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "portal.example.com",
    "PUBLIC_URL": "https://portal.example.com",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}
OLDER_KEY = "L-EIEuUNaLqqer2rTC8bK5_yxf2xSetvV-v4s2bUz8c="


def run_manage(*args, env_overrides=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides or {})
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
