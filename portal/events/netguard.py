"""Where an event endpoint may point: https on public addresses only, so that the portal
cannot be made to POST into its own network (server-side request forgery).

Checked twice: when an admin saves the URL (its host must resolve to public addresses
only), and on every attempt, against the address the socket actually connected to, so a
name that later resolves elsewhere (DNS rebinding) is refused too. Redirects are never
followed. EVENTS_ALLOW_INSECURE_URLS (development, tests) lets http and private
addresses through: the sandbox's receiver listens on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from providers.http import USER_AGENT

MAX_URL_LENGTH = 500
# Cloud metadata services: named even where another rule already covers them, so the
# refusal says what it is.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
            ipaddress.ip_address("100.100.100.200")}


class RefusedAddress(Exception):
    """The endpoint's host is (or now resolves to) an address events may not go to."""


def address_problem(ip: str) -> str | None:
    """Why events may not be sent to this address, or None for a public one."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return f"{ip} is not an IP address"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr in METADATA:
        return f"{addr} is a cloud metadata address"
    if addr.is_loopback:
        return f"{addr} is a loopback address"
    if addr.is_link_local:
        return f"{addr} is a link-local address"
    if addr.is_private:
        return f"{addr} is a private address"
    if addr.is_multicast or addr.is_unspecified or addr.is_reserved or not addr.is_global:
        return f"{addr} is not a public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def url_problem(url: str, *, allow_insecure: bool, resolver=resolve) -> str | None:
    """A sentence for the admin saying why `url` cannot be an endpoint, or None."""
    url = (url or "").strip()
    if not url:
        return "Enter the endpoint's URL."
    if len(url) > MAX_URL_LENGTH:
        return f"Use at most {MAX_URL_LENGTH} characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL, such as https://hooks.example.com/portal."
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_insecure and scheme == "http"):
        return "Use an https:// URL: events carry your organization's changes."
    if not parts.hostname:
        return "Enter a valid URL, such as https://hooks.example.com/portal."
    if parts.username is not None or parts.password is not None:
        return "Leave user names and passwords out of the URL; events are signed instead."
    if parts.fragment:
        return "Leave the #fragment out of the URL."
    if allow_insecure:
        return None
    try:
        addresses = resolver(parts.hostname, port or 443)
    except (OSError, UnicodeError):
        return f"{parts.hostname} could not be resolved; check the host name."
    if not addresses:
        return f"{parts.hostname} could not be resolved; check the host name."
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return (f"{parts.hostname} resolves to {address}: {problem.split(' is ', 1)[1]}. "
                    "Events go to public addresses only.")
    return None


# --- the transport that checks the connected address ---------------------------------


class _PeerCheck:
    def _new_conn(self):
        sock = super()._new_conn()
        try:
            peer = sock.getpeername()[0]
        except OSError:
            peer = ""
        problem = address_problem(peer) if peer else "no peer address"
        if problem:
            sock.close()
            raise RefusedAddress(f"refused to send to {self.host}: {problem}")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool,
                                                   "https": _GuardedHTTPSPool}


class _EventSession(requests.Session):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        # No proxy from the environment: the address checked must be the receiver's.
        self.trust_env = False

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)


def session(*, allow_insecure: bool, timeout) -> requests.Session:
    """A session for event deliveries: a timeout, the portal's User-Agent, no proxies, no
    redirects, and (unless insecure URLs are allowed) the connected-address check."""
    http = _EventSession(timeout)
    adapter = HTTPAdapter(max_retries=0) if allow_insecure else _GuardedAdapter(max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
