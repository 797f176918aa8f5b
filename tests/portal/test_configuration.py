"""Configuration comes from the environment; production refuses unsafe or missing values."""

import os
import subprocess
import sys

from tests.portal.production import OLDER_KEY, PRODUCTION_ENV, ROOT, run_manage


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_fails_naming_it():
    env = dict(PRODUCTION_ENV)
    del env["SECRET_KEY"]
    result = run_manage("check", env_overrides=env, drop=("SECRET_KEY",))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_without_allowed_hosts_fails_naming_it():
    env = dict(PRODUCTION_ENV)
    del env["ALLOWED_HOSTS"]
    result = run_manage("check", env_overrides=env, drop=("ALLOWED_HOSTS",))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_malformed_database_url_fails_naming_it():
    result = run_manage("check", env_overrides={"DATABASE_URL": "nonsense://???"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_malformed_redis_url_fails_naming_it():
    result = run_manage("check", env_overrides={"REDIS_URL": "localhost:6379"})
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_defaults_need_no_server():
    """Without DATABASE_URL and REDIS_URL the portal uses SQLite and a filesystem broker."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings.dev'; "
        "django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.CACHES['default']['BACKEND'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "portal.db.backends.sqlite3", "filesystem://",
        "django.core.cache.backends.filebased.FileBasedCache",
    ]


def test_production_cookies_are_secure_and_http_only():
    code = (
        "import django, os; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, "
        "s.DEBUG)"
    )
    env = {**os.environ, **PRODUCTION_ENV}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True", "False"]


def production_check(**overrides):
    """`manage.py check` under production settings with some variables changed (None: unset)."""
    env = {**PRODUCTION_ENV, **{k: v for k, v in overrides.items() if v is not None}}
    drop = tuple(k for k, v in overrides.items() if v is None)
    for name in drop:
        env.pop(name)
    return run_manage("check", env_overrides=env, drop=drop)


def assert_refused(result, *names):
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for name in names:
        assert name in message, message


def test_production_refuses_an_email_backend_that_delivers_nothing():
    for backend in ("console", "locmem", "dummy", "filebased"):
        result = production_check(
            EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend")
        assert_refused(result, "EMAIL_BACKEND", f"backends.{backend}.EmailBackend")
    assert_refused(production_check(EMAIL_BACKEND=None), "EMAIL_BACKEND")
    assert_refused(production_check(EMAIL_BACKEND="myapp.mail.NoSuchBackend"),
                   "EMAIL_BACKEND", "no such module")


def test_production_requires_an_https_public_url_among_the_allowed_hosts():
    assert_refused(production_check(PUBLIC_URL=None), "PUBLIC_URL")
    assert_refused(production_check(PUBLIC_URL="http://portal.example.com"),
                   "PUBLIC_URL", "https://")
    assert_refused(production_check(PUBLIC_URL="portal.example.com"), "PUBLIC_URL")
    assert_refused(production_check(PUBLIC_URL="https://elsewhere.example.org"),
                   "PUBLIC_URL", "ALLOWED_HOSTS")


def test_production_requires_redis_url():
    assert_refused(production_check(REDIS_URL=None), "REDIS_URL")


def test_production_refuses_a_weak_field_encryption_key():
    weak = {
        "a passphrase": "another-long-random-key-used-only-for-encrypting-credentials",
        "31 bytes": "A" * 42,
        "all one byte": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "a short counter pattern": "AAECAwABAgMAAQIDAAECAwABAgMAAQIDAAECAwABAgM=",
    }
    for label, key in weak.items():
        result = production_check(FIELD_ENCRYPTION_KEY=key)
        assert_refused(result, "FIELD_ENCRYPTION_KEY")
        assert key not in result.stderr, f"{label}: the key must not be printed"
    # An older key is checked as strictly as the newest one.
    result = production_check(FIELD_ENCRYPTION_KEY=f"{OLDER_KEY},{'A' * 43}=")
    assert_refused(result, "FIELD_ENCRYPTION_KEY", "key 2 of 2")


def test_a_field_encryption_key_without_a_key_stops_start_up_everywhere():
    result = run_manage("check", env_overrides={"FIELD_ENCRYPTION_KEY": " , "})
    assert_refused(result, "FIELD_ENCRYPTION_KEY")


def test_production_accepts_several_strong_keys():
    result = production_check(FIELD_ENCRYPTION_KEY=f"{PRODUCTION_ENV['FIELD_ENCRYPTION_KEY']},"
                                                   f"{OLDER_KEY}")
    assert result.returncode == 0, result.stderr


def test_claim_shorter_than_the_hard_time_limit_stops_start_up_naming_both():
    result = run_manage("check", env_overrides={"PUSH_CLAIM_SECONDS": "60",
                                                "CELERY_TASK_TIME_LIMIT": "90"})
    assert_refused(result, "PUSH_CLAIM_SECONDS", "CELERY_TASK_TIME_LIMIT")
    result = run_manage("check", env_overrides={"PUSH_CLAIM_SECONDS": "90.5",
                                                "CELERY_TASK_TIME_LIMIT": "90"})
    assert_refused(result, "PUSH_CLAIM_SECONDS", "CELERY_TASK_TIME_LIMIT")
    result = run_manage("check", env_overrides={"CELERY_TASK_SOFT_TIME_LIMIT": "120",
                                                "CELERY_TASK_TIME_LIMIT": "90"})
    assert_refused(result, "CELERY_TASK_SOFT_TIME_LIMIT", "CELERY_TASK_TIME_LIMIT")


def test_claim_is_derived_from_the_hard_time_limit():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from forwarding.sync import delivery; "
        "print(s.CELERY_TASK_TIME_LIMIT, s.PUSH_CLAIM_SECONDS, delivery.CLAIM_SECONDS)"
    )

    def claim(**variables):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PUSH_CLAIM", "CELERY_TASK"))}
        env.update(variables)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert claim() == ["90", "120.0", "120.0"]
    assert claim(CELERY_TASK_TIME_LIMIT="300") == ["300", "330.0", "330.0"]
    assert claim(CELERY_TASK_SOFT_TIME_LIMIT="4", CELERY_TASK_TIME_LIMIT="5",
                 PUSH_CLAIM_SECONDS="6") == ["5", "6.0", "6.0"]


def test_production_serves_the_api_schema_and_docs_to_signed_in_callers_only():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.API_DOCS_PUBLIC)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                         env={**os.environ, **PRODUCTION_ENV},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


def test_push_tunables_are_checked_at_start_up_naming_the_variable():
    for name, value in [("PUSH_MAX_ATTEMPTS", "0"), ("PUSH_MAX_ATTEMPTS", "many"),
                        ("PUSH_BACKOFF_BASE", "-1"), ("PUSH_SWEEP_GRACE", "-5"),
                        ("PUSH_MAX_COUNTDOWN", "0"), ("DRIFT_CHECK_MINUTES", "0")]:
        assert_refused(run_manage("check", env_overrides={name: value}), name)
    result = run_manage("check", env_overrides={"PUSH_BACKOFF_BASE": "10",
                                                "PUSH_BACKOFF_CAP": "5"})
    assert_refused(result, "PUSH_BACKOFF_CAP", "PUSH_BACKOFF_BASE")


def test_push_tunables_reach_the_pipeline_through_settings():
    code = ("import django; django.setup(); from forwarding.sync import delivery, drift, outbox; "
            "print(delivery.MAX_ATTEMPTS, delivery.BACKOFF_CAP, delivery.SWEEP_GRACE, "
            "outbox.DEBOUNCE.total_seconds(), drift.CHECK_EVERY.total_seconds())")
    env = dict(os.environ, PUSH_MAX_ATTEMPTS="3", PUSH_BACKOFF_CAP="40", PUSH_SWEEP_GRACE="2",
               PUSH_DEBOUNCE_SECONDS="0.25", DRIFT_CHECK_MINUTES="5")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3", "40.0", "2.0", "0.25", "300.0"]
