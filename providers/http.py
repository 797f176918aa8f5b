"""One factory for outbound HTTP sessions, and the translation of HTTP failures into
ProviderError, shared by every adapter.

Every call gets a timeout and a User-Agent; connection pools are reused per thread.
What the environment says about a host (HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) is
read once per scheme and host, not on every request: requests re-reads it each time,
which cost about a tenth of a Graph redirect's CPU.
"""

from __future__ import annotations

import email.utils
import logging
import math
import threading
import time
from functools import lru_cache
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .base import ProviderError

log = logging.getLogger("providers.http")

USER_AGENT = "callforward-portal/0.1 (+https://github.com/; python-requests)"
DEFAULT_TIMEOUT = (3.05, 10.0)

# Statuses where retrying later can help. Everything else 4xx is permanent.
TRANSIENT_STATUSES = {408, 423, 425, 429, 500, 502, 503, 504}

_local = threading.local()


@lru_cache(maxsize=256)
def _environment_for(scheme, netloc) -> dict:
    """proxies / verify / cert for a host, as requests would derive them from the
    environment (computed once per host)."""
    probe = requests.Session()
    settings = probe.merge_environment_settings(f"{scheme}://{netloc}/", {}, None, None, None)
    probe.close()
    return {key: settings[key] for key in ("proxies", "verify", "cert")}


class TimeoutSession(requests.Session):
    def __init__(self, timeout=None):
        super().__init__()
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.headers["User-Agent"] = USER_AGENT
        self.trust_env = False  # see _environment_for
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        parts = urlsplit(url)
        for key, value in _environment_for(parts.scheme.lower(), parts.netloc.lower()).items():
            kwargs.setdefault(key, value)
        return super().request(method, url, **kwargs)


def get_session(timeout=None) -> requests.Session:
    """A per-thread session (requests sessions are not thread-safe to share); its
    connections are kept whatever timeout each request asks for."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = TimeoutSession()
    return session


def parse_retry_after(value, *, now=None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def send(method, url, *, provider_label, describe_error, timeout=None, **kwargs):
    """Perform one request; return the response when 2xx, else raise ProviderError.

    describe_error(response) -> (human message, permanent or None) lets each adapter word
    the provider's own error body; None for `permanent` means "decide from the status".
    """
    session = get_session()
    try:
        response = session.request(method, url, timeout=timeout or DEFAULT_TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        raise ProviderError(f"{provider_label} did not answer in time.", permanent=False,
                            raw=str(exc)) from exc
    except requests.RequestException as exc:
        raise ProviderError(f"{provider_label} could not be reached.", permanent=False,
                            raw=str(exc)) from exc
    if 200 <= response.status_code < 300:
        return response
    body = response.text[:2000]
    log.warning("%s %s %s -> %s %s", provider_label, method, url, response.status_code, body)
    message, permanent = describe_error(response)
    if permanent is None:
        permanent = response.status_code not in TRANSIENT_STATUSES
    raise ProviderError(
        message, permanent=permanent, status_code=response.status_code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")), raw=body,
        tracking_id=response.headers.get("TrackingID", ""),
    )


def error_message(label, status, known=None, detail="") -> str:
    """A person's sentence for a provider's error: the adapter's own words for the
    status (`known`) or a generic one, plus the provider's detail for a 400 (which
    names the field at fault, when it is a string), ending with a full stop."""
    words = known or (f"{label} had a problem ({status})" if status >= 500
                      else f"{label} refused the request ({status})")
    # Only a string is a detail: an object or a list from a provider's body would read as
    # a Python repr in the person's sentence.
    if isinstance(detail, str) and detail.strip() and status == 400:
        words = f"{words}: {detail}"
    return words.rstrip(".")[:480] + "."


def json_or_empty(response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
