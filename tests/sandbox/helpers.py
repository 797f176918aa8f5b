"""Helpers for the sandbox tests: a control-API client, a callback receiver, fixtures."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).parent / "fixtures"
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def load_fixture(name: str) -> Any:
    """A seed example; tolerates the trailing commas some Graph examples contain."""
    text = (FIXTURES / name).read_text()
    return json.loads(_TRAILING_COMMA.sub(r"\1", text))


def skeleton(value: Any) -> Any:
    """Structure of a JSON value: dict keys kept, leaves replaced by their type name.

    Lists keep only their first element so that e.g. ``["audio", "video"]`` and
    ``["audio"]`` have the same shape.
    """
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value[:1]]
    return type(value).__name__


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class Sandbox:
    """Thin client for the control API plus a shared keep-alive session."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.rstrip("/")
        self.http = requests.Session()

    def control(self, method: str, path: str, expect: int | None = None, **kwargs):
        resp = self.http.request(method, f"{self.url}/_sandbox/{path}", **kwargs)
        if expect is not None:
            assert resp.status_code == expect, (resp.status_code, resp.text)
        return resp

    def token(self, token: str, org_id: str, partner_for: list[str] | None = None) -> None:
        body = {"token": token, "orgId": org_id, "partnerFor": partner_for or []}
        self.control("POST", "tokens", 201, json=body)

    def person(self, org_id: str, person_id: str, system_max: int | None = None) -> dict:
        body: dict[str, Any] = {"orgId": org_id, "personId": person_id}
        if system_max is not None:
            body["systemMaxNumberOfRings"] = system_max
        return self.control("POST", "webex/people", 201, json=body).json()

    def ucwa_app(
        self, app_id: str, token: str, org_id: str | None = None, errors: dict | None = None
    ) -> dict:
        body: dict[str, Any] = {"applicationId": app_id, "token": token}
        if org_id is not None:
            body["orgId"] = org_id
        if errors is not None:
            body["errors"] = errors
        return self.control("POST", "ucwa/applications", 201, json=body).json()

    def line(self, line_id: str, org_id: str, callback_url: str, **extra: Any) -> dict:
        body = {"lineId": line_id, "orgId": org_id, "callbackUrl": callback_url, **extra}
        return self.control("POST", "graph/lines", 201, json=body).json()

    def call(self, line_id: str, caller: str, deadline_ms: int | None = None) -> dict:
        body: dict[str, Any] = {"lineId": line_id, "caller": caller}
        if deadline_ms is not None:
            body["deadlineMs"] = deadline_ms
        return self.control("POST", "graph/calls", 201, json=body).json()

    def get_call(self, call_id: str) -> dict:
        return self.control("GET", f"graph/calls/{call_id}", 200).json()

    def wait_call(self, call_id: str, notifications: int, timeout: float = 5.0) -> dict:
        """The call once ``notifications`` deliveries have been recorded on it."""
        return wait_until(
            lambda: (
                (c := self.get_call(call_id)) and len(c["notifications"]) >= notifications and c
            ),
            timeout,
        )

    def requests_log(self, **params: Any) -> list[dict]:
        return self.control("GET", "requests", 200, params=params).json()


class Receiver:
    """A tiny HTTP server standing in for a bot's callback endpoint.

    Every POST is recorded as ``{"path", "headers", "body"}``.  ``on_notification``
    (optional) runs inside the request, before the 200 answer, like a bot that
    redirects the call while handling the incoming notification.
    """

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.on_notification: Callable[[dict[str, Any]], None] | None = None
        self.status = status
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                item = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                if receiver.on_notification is not None:
                    receiver.on_notification(item)
                with receiver._cond:
                    receiver.received.append(item)
                    receiver._cond.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/calls"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            assert ok, f"expected {count} notifications, got {len(self.received)}"
            return list(self.received)

    def bodies(self) -> list[Any]:
        with self._cond:
            return [item["body"] for item in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
