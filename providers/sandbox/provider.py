"""The interface every emulated provider API implements, and shared helpers.

The server runs one pipeline for all provider requests (request log, concurrency
stats, faults, rate limits, crash safety); a provider only has to say which org and
person a request addresses, how to handle it, and how its errors look on the wire.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import unquote

from .state import SandboxState
from .wire import Request, Response

# Error codes used when a status has no more specific provider code (faults,
# rate limits, crashes).  CamelCase HTTP reason phrases, as the Microsoft APIs use.
_SPECIAL_CODES = {500: "InternalServerError"}


def status_code_name(status: int) -> str:
    if status in _SPECIAL_CODES:
        return _SPECIAL_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"Status{status}"
    return "".join(word[:1].upper() + word[1:] for word in phrase.replace("-", " ").split())


def split_path(path: str) -> list[str]:
    """Percent-decoded, non-empty path segments (ids may be URL-encoded)."""
    return [unquote(part) for part in path.split("/") if part]


class Provider:
    """Base class; subclasses set ``name`` and ``prefix`` and override the hooks."""

    name = ""
    prefix = ""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def matches(self, req: Request) -> bool:
        """Whether this provider serves the request (the first that does wins)."""
        return req.path.startswith(self.prefix)

    def prepare(self, req: Request) -> None:
        """Fill ``req.org_id`` and ``req.person_id`` (for limits, faults and the log)."""

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, req: Request, status: int, message: str, code: str | None = None) -> Response:
        """A provider-shaped error response."""
        raise NotImplementedError

    def finalize(self, req: Request, resp: Response) -> None:
        """Add headers every response of this provider carries."""
