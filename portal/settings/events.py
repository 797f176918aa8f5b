"""Settings of outgoing events (portal.events, docs/events.md). Imported by base.py;
every value comes from the environment."""

import os

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()
# SANDBOX_DEFAULTS as in base.py (DEBUG's value unless set); never in production, where
# production.py is the settings module whatever the environment says.
_PRODUCTION = os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
_DEBUG = _env.bool("SANDBOX_DEFAULTS", default=_env.bool("DEBUG", default=True)) and \
    not _PRODUCTION


def _number(name, default, kind):
    try:
        return kind(_env.str(name, default=str(default)))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number") from exc


# Endpoints must be https on public addresses; this also lets http and loopback/private
# addresses through (development and tests: the sandbox's receiver is on 127.0.0.1).
EVENTS_ALLOW_INSECURE_URLS = _env.bool("EVENTS_ALLOW_INSECURE_URLS", default=_DEBUG)
EVENTS_TIMEOUT = (_number("EVENTS_CONNECT_TIMEOUT", 3.05, float),
                  _number("EVENTS_READ_TIMEOUT", 10.0, float))
# Retries: attempt n waits between half and all of EVENTS_BACKOFF_BASE * 2**(n-1) seconds
# (jitter), at most EVENTS_BACKOFF_CAP; a delivery gives up after EVENTS_MAX_ATTEMPTS. An
# endpoint is disabled (its admins emailed once) after EVENTS_DISABLE_AFTER_FAILURES failed
# attempts in a row, or when it has failed for EVENTS_DISABLE_AFTER_HOURS without a success.
EVENTS_BACKOFF_BASE = _number("EVENTS_BACKOFF_BASE", 30.0, float)
EVENTS_BACKOFF_CAP = _number("EVENTS_BACKOFF_CAP", 6 * 3600.0, float)
EVENTS_MAX_ATTEMPTS = _number("EVENTS_MAX_ATTEMPTS", 10, int)
EVENTS_DISABLE_AFTER_FAILURES = _number("EVENTS_DISABLE_AFTER_FAILURES", 100, int)
EVENTS_DISABLE_AFTER_HOURS = _number("EVENTS_DISABLE_AFTER_HOURS", 24.0, float)
EVENTS_SWEEP_SECONDS = _number("EVENTS_SWEEP_SECONDS", 15.0, float)
if EVENTS_MAX_ATTEMPTS < 1 or EVENTS_DISABLE_AFTER_FAILURES < 1:
    raise ImproperlyConfigured("EVENTS_MAX_ATTEMPTS and EVENTS_DISABLE_AFTER_FAILURES must be "
                               "1 or more")
if min(EVENTS_BACKOFF_BASE, EVENTS_BACKOFF_CAP, EVENTS_SWEEP_SECONDS, *EVENTS_TIMEOUT) <= 0:
    raise ImproperlyConfigured("EVENTS_BACKOFF_*, EVENTS_SWEEP_SECONDS and the EVENTS_*_TIMEOUT "
                               "values must be positive")
# Outgoing events and their attempt logs are deleted this long after the event (hourly,
# with the other retention); an event still waiting for an endpoint is kept. 0: forever.
RETENTION_EVENTS_DAYS = _number("RETENTION_EVENTS_DAYS", 30, int)
if RETENTION_EVENTS_DAYS < 0:
    raise ImproperlyConfigured("RETENTION_EVENTS_DAYS must be a number of days, 0 to keep "
                               "forever")
