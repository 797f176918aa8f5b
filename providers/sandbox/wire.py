"""Transport-neutral request/response values shared by the sandbox modules.

The HTTP server turns each incoming request into a :class:`Request` and each
handler returns a :class:`Response`; keeping these plain values (instead of
handing the ``BaseHTTPRequestHandler`` around) lets provider modules stay free of
socket details and makes every response pass through one serialisation point,
which is what guarantees a correct ``Content-Length`` on keep-alive connections.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def json_response(status: int, body: Any = None, **headers: str) -> Response:
    return Response(status, body, dict(headers))


def iso_now(with_fraction: bool = False) -> str:
    """UTC timestamp in the ISO 8601 'Z' form the Microsoft APIs use."""
    now = datetime.now(UTC)
    if with_fraction:
        return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_int(value: Any) -> bool:
    """True for real integers; bool is an int subclass in Python but not in JSON."""
    return isinstance(value, int) and not isinstance(value, bool)
