"""An event receiver: what an org's SIEM or chat bridge would be, for the portal's outgoing
events (portal.events). ``POST /events/<name>`` records the request (headers and body) and
answers 200, or the status a test switched on; the control API reads and switches it.

When a receiver is given the endpoint's secret (``PUT /_sandbox/events/<name>``), each
recorded request says whether its Standard Webhooks signature checks out, which is what a
real receiver does first (docs/events.md). Stdlib only, like the rest of the sandbox.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .controlkit import ControlError, json_body
from .wire import Request, Response

PREFIX = "/events/"
KEPT = 10_000  # requests kept per receiver
RECORDED_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp",
                    "webhook-signature")


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    raw = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = base64.b64encode(hmac.new(
        key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


@dataclass
class Receiver:
    name: str
    fail_status: int | None = None
    fail_count: int | None = None  # None: every request while fail_status is set
    secret: str | None = None
    received: collections.deque = field(default_factory=lambda: collections.deque(maxlen=KEPT))

    def view(self, with_requests=True) -> dict[str, Any]:
        out = {"name": self.name, "failStatus": self.fail_status, "failCount": self.fail_count,
               "hasSecret": bool(self.secret), "count": len(self.received)}
        if with_requests:
            out["received"] = list(self.received)
        return out


class EventReceivers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.receivers: dict[str, Receiver] = {}
        self._seq = 0

    def clear(self) -> None:
        with self.lock:
            self.receivers.clear()

    @staticmethod
    def matches(req: Request) -> bool:
        return req.path.startswith(PREFIX) and len(req.path) > len(PREFIX)

    def _get(self, name: str) -> Receiver:
        receiver = self.receivers.get(name)
        if receiver is None:
            receiver = self.receivers[name] = Receiver(name)
        return receiver

    def handle(self, req: Request) -> Response:
        name = req.path[len(PREFIX):].strip("/")
        if req.method != "POST":
            return Response(405, {"error": "POST events here"})
        with self.lock:
            receiver = self._get(name)
            status = 200
            if receiver.fail_status is not None and receiver.fail_count != 0:
                status = receiver.fail_status
                if receiver.fail_count is not None:
                    receiver.fail_count -= 1
            self._seq += 1
            entry = {
                "seq": self._seq,
                "receivedAt": time.time(),
                "headers": {k: req.headers[k] for k in RECORDED_HEADERS if k in req.headers},
                "body": req.raw_body.decode("utf-8", errors="replace"),
                "webhookId": req.headers.get("webhook-id"),
                "status": status,
            }
            try:
                entry["json"] = req.json()
            except ValueError:
                entry["json"] = None
            if receiver.secret:
                entry["signatureValid"] = signature_valid(receiver.secret, req.headers,
                                                          req.raw_body)
            receiver.received.append(entry)
        if status >= 400:
            return Response(status, {"error": f"receiver {name} is switched to answer {status}"})
        return Response(200, {"received": True})

    # --- control routes (merged into /_sandbox/ by control.py) ---------------------

    def routes(self):
        return [
            ("GET", ("events",), self.list_receivers),
            ("GET", ("events", "*"), self.get_receiver),
            ("PUT", ("events", "*"), self.set_receiver),
            ("DELETE", ("events", "*"), self.clear_receiver),
        ]

    def list_receivers(self, req: Request, args: list[str]) -> Response:
        with self.lock:
            return Response(200, [r.view(with_requests=False) for r in self.receivers.values()])

    def get_receiver(self, req: Request, args: list[str]) -> Response:
        since = req.param("since")
        with self.lock:
            view = self._get(args[0]).view()
        if since is not None:
            if not since.isdigit():
                raise ControlError(400, "since must be a sequence number")
            view["received"] = [e for e in view["received"] if e["seq"] > int(since)]
        return Response(200, view)

    def set_receiver(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        status = body.get("failStatus")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)
                                   or not 100 <= status <= 599):
            raise ControlError(400, "failStatus must be an HTTP status (100-599) or null")
        count = body.get("failCount")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                                  or count < 0):
            raise ControlError(400, "failCount must be a number of requests or null")
        secret = body.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise ControlError(400, "secret must be a string or null")
        with self.lock:
            receiver = self._get(args[0])
            if "failStatus" in body:
                receiver.fail_status = status
                receiver.fail_count = count
            if "secret" in body:
                receiver.secret = secret or None
            return Response(200, receiver.view(with_requests=False))

    def clear_receiver(self, req: Request, args: list[str]) -> Response:
        with self.lock:
            self.receivers.pop(args[0], None)
        return Response(200, {"cleared": args[0]})
