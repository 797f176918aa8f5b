"""Transport-neutral request/response values shared by the sandbox modules.

The HTTP server turns each incoming request into a :class:`Request` and each
handler returns a :class:`Response`; keeping these plain values (instead of
handing the ``BaseHTTPRequestHandler`` around) lets provider modules stay free of
socket details and makes every response pass through one serialisation point,
which is what guarantees a correct ``Content-Length`` on keep-alive connections.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

_NO_BODY = object()


class BadJson(ValueError):
    """The request carried a body that is not valid JSON."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw_body: bytes
    received_at: float = field(default_factory=time.time)
    # Filled in by the server pipeline before a provider handler runs.
    org_id: str | None = None
    person_id: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Per-request values a provider wants to reuse (e.g. the Webex tracking id).
    extra: dict[str, Any] = field(default_factory=dict)
    _parsed: Any = field(default=_NO_BODY, repr=False)
    _json_error: str | None = field(default=None, repr=False)

    def param(self, name: str) -> str | None:
        """First value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def has_body(self) -> bool:
        return bool(self.raw_body.strip())

    def json(self) -> Any:
        """Parsed JSON body (None when empty); raises BadJson when malformed."""
        if self._parsed is _NO_BODY:
            self._parse()
        if self._json_error is not None:
            raise BadJson(self._json_error)
        return self._parsed

    def _parse(self) -> None:
        if not self.has_body:
            self._parsed = None
            return
        try:
            self._parsed = json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._parsed = None
            self._json_error = f"Malformed JSON body: {exc}"

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body as a dict of first values."""
        try:
            text = self.raw_body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) of an ``Authorization: Basic`` header, else None."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None

    def base_url(self) -> str:
        """The sandbox's own base URL as the client addressed it (Host header)."""
        return f"http://{self.headers.get('host', '127.0.0.1')}"

    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, else None."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def flat_query(self) -> dict[str, Any]:
        """Query as a JSON-friendly dict: one value as a string, repeats as a list."""
        return {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.query.items()}


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable value, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)
    # A body that is not JSON (an HTML page) is given as bytes with its own type.
    raw: bytes | None = None
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def html_response(status: int, title: str, body_html: str) -> Response:
    """A small complete HTML page; ``body_html`` must already be escaped."""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
        f"{body_html}\n</body></html>\n"
    )
    return Response(
        status,
        raw=page.encode("utf-8"),
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def redirect(url: str, params: dict[str, str | None]) -> Response:
    """302 to ``url`` with ``params`` (None values left out) added to its query."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in url else "?"
    return Response(302, headers={"Location": f"{url}{sep}{query}", "Cache-Control": "no-store"})


def iso_now() -> str:
    """UTC timestamp in the ISO 8601 'Z' form the Microsoft APIs use."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_int(value: Any) -> bool:
    """True for real integers; bool is an int subclass in Python but not in JSON."""
    return isinstance(value, int) and not isinstance(value, bool)
