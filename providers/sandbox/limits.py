"""Per-org rate limits and injected faults for provider requests.

Both are off until a test switches them on through the control API.

Rate limits are token buckets: an org limited to ``N`` requests per second owns a
bucket of capacity ``max(N, 1)`` that starts full and refills continuously at ``N``
tokens per second.  A request takes one token; with less than one token left the
request is refused and told how long until a whole token is back.  A bucket (rather
than a fixed one-second window) is used because it never lets ``2N`` requests
through around a window edge, so a client that honours ``Retry-After`` is never
punished twice.

Faults are one-shot-per-count rules: the next ``count`` provider requests that match
answer an error status, are delayed, or both.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass
from typing import Any


class TokenBucket:
    def __init__(self, per_second: float) -> None:
        self.rate = float(per_second)
        self.capacity = max(self.rate, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take a token; return 0 when granted, else the seconds until one is due."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimits:
    """Token buckets keyed by org id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def set(self, org_id: str, per_second: float | None) -> None:
        with self._lock:
            if not per_second:
                self._buckets.pop(org_id, None)
            else:
                self._buckets[org_id] = TokenBucket(per_second)

    def check(self, org_id: str | None) -> int | None:
        """None when the request may proceed, else the Retry-After in whole seconds."""
        if org_id is None:
            return None
        with self._lock:
            bucket = self._buckets.get(org_id)
            if bucket is None:
                return None
            wait = bucket.take()
        if wait <= 0:
            return None
        # Retry-After is integral on the wire; rounding down would invite an
        # immediate second 429, so round up and never advertise 0.
        return max(1, math.ceil(wait))

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return {org: b.rate for org, b in self._buckets.items()}

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


@dataclass
class Fault:
    id: str
    match: dict[str, str]
    status: int | None
    retry_after: int | None
    delay_ms: int | None
    remaining: int

    def matches(self, org_id: str | None, person_id: str | None, path: str) -> bool:
        if "orgId" in self.match and self.match["orgId"] != org_id:
            return False
        if "personId" in self.match and self.match["personId"] != person_id:
            return False
        if "path" in self.match and self.match["path"] not in path:
            return False
        return True

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": dict(self.match),
            "status": self.status,
            "retryAfter": self.retry_after,
            "delayMs": self.delay_ms,
            "count": self.remaining,
        }


class FaultRegistry:
    """Faults in creation order; the oldest matching fault with count left wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        match: dict[str, str],
        status: int | None,
        retry_after: int | None,
        delay_ms: int | None,
        count: int,
    ) -> Fault:
        with self._lock:
            fault = Fault(f"fault-{next(self._ids)}", match, status, retry_after, delay_ms, count)
            self._faults.append(fault)
            return fault

    def take(self, org_id: str | None, person_id: str | None, path: str) -> Fault | None:
        """Consume one use of the first matching fault (removed when used up)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(org_id, person_id, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            for fault in self._faults:
                if fault.id == fault_id:
                    self._faults.remove(fault)
                    return True
        return False

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.view() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            # Numbering restarts too, so a reset sandbox behaves like a fresh one.
            self._ids = itertools.count(1)
