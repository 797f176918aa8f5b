"""Secrets out of the logs: the Graph webhook's URL carries the key that authenticates
Graph (an org's webhook key), and every line that prints a request's path would print
it: Django's "Bad Request: /webhooks/graph/<key>/" warnings (django.request), runserver's
and gunicorn's access lines. `RedactWebhookKeys` is attached in settings.LOGGING to those
loggers and to the console handler; gunicorn.conf.py uses `redact` for its access log.

Stdlib only: settings import it while logging is configured, before Django is set up.
"""

from __future__ import annotations

import logging
import re

# The segment after /webhooks/graph/ (forwarding/urls_calls.py), wherever it appears: a
# path, a full URL, a request line.
_WEBHOOK_KEY = re.compile(r"(/webhooks/graph/)[^/\s?#\"']+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _WEBHOOK_KEY.sub(r"\g<1>" + REDACTED, text)


class RedactWebhookKeys(logging.Filter):
    """Rewrites a record's message without the webhook key (never drops a record)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's own error to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            # Formatted once here, so that every handler after this one prints the same.
            record.msg, record.args = cleaned, None
        return True
