"""Where an organization's provider token may be sent.

Every push, read-back and redirect sends the org's bearer token to its provider base URL,
so that URL is an allow-list decision, not free text: https to a host listed for the
org's provider kind in PROVIDER_BASE_URL_ALLOWED_HOSTS, or (development and tests only,
PROVIDER_ALLOW_LOOPBACK) the local sandbox on a loopback address over http or https.

It is checked twice: when an org is saved (Organization.clean, so a form shows it next to
the field) and whenever a provider Connection is built (forwarding.sync.delivery,
forwarding.calltime.bot),
so that a row written around the model (raw SQL, an old row, a changed setting) still
never sends a token to a host that is not allowed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from providers.base import ProviderError

LOOPBACK_NAMES = {"localhost"}


def allowed_hosts(kind: str) -> list[str]:
    table = getattr(settings, "PROVIDER_BASE_URL_ALLOWED_HOSTS", {})
    return [*table.get(kind, ()), *table.get("*", ())]


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_allowed(host: str, allowed: list[str]) -> bool:
    # As Django's ALLOWED_HOSTS: an entry with a leading dot also allows its subdomains.
    for entry in allowed:
        entry = entry.lower()
        if host == entry or (entry.startswith(".") and (host.endswith(entry)
                                                        or host == entry[1:])):
            return True
    return False


def base_url_problem(kind: str, url: str) -> str | None:
    """Why `url` may not be `kind`'s provider base URL, in words for an admin; None when
    it may. An empty URL is allowed: the provider's documented default applies (Graph) or
    nothing is sent."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "This is not a valid URL."
    if parts.username is not None or parts.password is not None:
        return "The provider base URL must not contain a user name or password."
    if not host or parts.scheme not in ("http", "https"):
        return "The provider base URL must be an https:// URL with a host name."
    if _is_loopback(host):
        if getattr(settings, "PROVIDER_ALLOW_LOOPBACK", False):
            return None
        return (f"{host} is a loopback address: allowed only in development and tests "
                "(PROVIDER_ALLOW_LOOPBACK).")
    if parts.scheme != "https":
        return "The provider base URL must start with https:// (the token travels with it)."
    allowed = allowed_hosts(kind)
    if not _host_allowed(host, allowed):
        listed = ", ".join(allowed) or "none"
        return (f"{host} is not an allowed host for this provider (allowed: {listed}; "
                "see PROVIDER_BASE_URL_ALLOWED_HOSTS).")
    return None


def validate_base_url(kind: str, url: str) -> None:
    problem = base_url_problem(kind, url)
    if problem is not None:
        raise ValidationError({"base_url": problem})


def connection_base_url(kind: str, url: str) -> str:
    """`url`, when `kind`'s token may be sent there; otherwise a permanent ProviderError
    (nothing is sent, and the push or redirect fails with this message at once)."""
    problem = base_url_problem(kind, url)
    if problem is None:
        return url
    error = ProviderError(
        f"Not sent: the organization's provider base URL is not allowed. {problem}",
        permanent=True,
    )
    error.requests_sent = 0  # read by the push pipeline's attempt record
    raise error
