"""The client's IP address of a request, resolved in one place (audit rows, allauth's
login rate limits).

X-Forwarded-For is a list that anyone can start: a client sends whatever it likes and
each proxy appends the address it saw the request come from. Only the entries appended
by our own proxies can be believed, so the client is the entry TRUSTED_PROXY_COUNT hops
from the right (with one proxy: the last entry), never the leftmost one. With 0 (the
default: no proxy, or one we do not trust) the header is ignored and the address is
REMOTE_ADDR, the peer of the TCP connection.

Every answer is a valid IPv4 or IPv6 address or None: the audit column is PostgreSQL's
`inet`, which refuses anything else ("1.2.3.4:5678" included) and would turn a write
into a 500. A port written by a proxy ("1.2.3.4:5678", "[2001:db8::1]:443") is dropped;
an entry that is still not an address, or a header with fewer entries than there are
proxies (the request did not come through all of them), falls back to REMOTE_ADDR.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    meta = request.META
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        hops = meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(hops) >= proxies:
            found = clean_ip(hops[-proxies])
            if found is not None:
                return found
    return clean_ip(meta.get("REMOTE_ADDR", ""))


def clean_ip(value) -> str | None:
    """`value` as a canonical IP address without port, or None when it is not one."""
    if not isinstance(value, str):
        return None
    host, has_port, port = value.strip(), False, ""
    if host.startswith("["):  # "[v6]" or "[v6]:port"
        inside, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        host, has_port, port = inside, bool(rest), rest[1:]
    elif host.count(":") == 1:  # "v4:port"; a bare IPv6 address has two colons or more
        host, _colon, port = host.partition(":")
        has_port = True
    if has_port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        return None
    if "%" in host:  # an IPv6 zone ("fe80::1%eth0") means nothing to anyone else
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
