"""Settings of bulk changes (forwarding.bulk: CSV imports and bulk edits, their dry runs
and jobs). Imported by base.py; every value comes from the environment."""

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()


def _env_int(name, default):
    try:
        return _env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


# What one CSV import or bulk edit may ask for (forwarding.bulk.drafts).
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
# A bulk job's apply task saves chunk after chunk and hands what is left to a new task
# after half of this. A new task waits behind the job's own pushes in the bulk queue
# (12 s of idle provider slots in a 10,000-person job with the push tasks' 60 s limit).
BULK_APPLY_TIME_LIMIT = _env_int("BULK_APPLY_TIME_LIMIT", 600)
# The apply task's hard limit: this long after the soft one, the worker kills it.
BULK_APPLY_KILL_AFTER = BULK_APPLY_TIME_LIMIT + _env_int("BULK_APPLY_KILL_GRACE", 30)
# A job with rows pending and no row applied for this long has lost its task (a worker
# killed with it: Redis gives its message back only after the visibility timeout, an
# hour): the beat's stalled-job check enqueues its rows again. Longer than the task may
# live, so a live task is never doubled (a doubled one would be harmless: a row is
# applied once, whoever picks it up).
BULK_STALLED_AFTER = _env_int("BULK_STALLED_AFTER", BULK_APPLY_KILL_AFTER + 30)
if BULK_STALLED_AFTER <= BULK_APPLY_KILL_AFTER:
    raise ImproperlyConfigured(
        f"BULK_STALLED_AFTER ({BULK_STALLED_AFTER}) must exceed the apply task's hard limit "
        f"(BULK_APPLY_TIME_LIMIT + BULK_APPLY_KILL_GRACE = {BULK_APPLY_KILL_AFTER}), or a "
        f"live job's rows are enqueued twice")
try:
    BULK_STALLED_CHECK_SECONDS = _env.float("BULK_STALLED_CHECK_SECONDS", default=60.0)
except ValueError as exc:
    raise ImproperlyConfigured("BULK_STALLED_CHECK_SECONDS must be a number") from exc
