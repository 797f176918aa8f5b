"""What the Graph webhook checks before a notification is parsed: the request rate of the
org, the size of the body, and how deeply its JSON nests. Each refusal is a `Refused`
with the status and a short message for the sender; nothing here writes anything.

The webhook is the hot path of every incoming call (Graph drops a call 15 seconds after
notifying us, and every millisecond is ringing time), so each check costs little on a
normal notification:

- rate: one Redis round trip (a Lua script: INCR, and the window's expiry), shared by
  every web process on every machine. A limit counted in each process would let a flood
  through once per process, and the number of processes changes with the deployment.
  If Redis does not answer, the request is let through (a call is worth more than the
  count) and counted in this process instead, and Redis is left alone for a few
  seconds, so that its outage costs one timeout per process, not one per call;
- size: Content-Length is checked before a byte is read; a body without one (chunked)
  is read up to the cap and one byte more;
- depth: Graph's notifications nest about eight levels deep. Counting brackets bounds
  the depth from above for free; only a body with more brackets than the limit is
  measured, by a linear scan before the parser sees it. The parser's own RecursionError
  is caught as well.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from array import array
from functools import lru_cache
from itertools import accumulate

import redis
from django.conf import settings
from django.core.exceptions import RequestDataTooBig

log = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


# --- size ----------------------------------------------------------------------------------------


def read_body(request, max_bytes: int) -> bytes:
    """The request's body, refused with 413 when longer than `max_bytes`."""
    length = request.META.get("CONTENT_LENGTH") or ""
    too_large = Refused(413, f"The body is larger than {max_bytes} bytes.")
    if length:
        try:
            declared = int(length)
        except ValueError:
            declared = -1
        if declared < 0:
            raise Refused(400, "Content-Length is not a number of bytes.")
        if declared > max_bytes:
            raise too_large
        try:
            return request.body  # Django reads exactly Content-Length bytes
        except RequestDataTooBig:  # a cap above DATA_UPLOAD_MAX_MEMORY_SIZE
            raise too_large from None
    # No Content-Length: a chunked body. Django reads nothing then (its stream is limited
    # to Content-Length); a server that ends the input stream itself (gunicorn says so
    # with wsgi.input_terminated) lets us read it, up to the cap and one byte more.
    if not request.META.get("wsgi.input_terminated"):
        return b""
    stream, chunks, total = request.META["wsgi.input"], [], 0
    while total <= max_bytes:
        chunk = stream.read(max_bytes + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        raise too_large
    return b"".join(chunks)


# --- depth ---------------------------------------------------------------------------------------

# A JSON string, with its escapes; possessive, and an unterminated one runs to the end,
# so that the scan stays linear whatever the bytes (a failed match never restarts at
# each later quote).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.S)
# Opening brackets count +1, closing ones -1 (as signed bytes); everything else goes.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def nesting_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON document nest (outside strings)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    steps = array("b", brackets.translate(_STEPS))
    return max(accumulate(steps, initial=0))


def load_json(body: bytes, max_depth: int):
    """The parsed body, refused with 400 when it is not JSON or nests deeper than
    `max_depth`."""
    too_deep = Refused(400, f"The body nests deeper than {max_depth} levels.")
    # An upper bound for nothing: a body with few brackets cannot nest deeply.
    if body.count(b"[") + body.count(b"{") > max_depth and nesting_depth(body) > max_depth:
        raise too_deep
    try:
        return json.loads(body)
    except RecursionError:  # not reached with a sane limit; never a 500 all the same
        raise too_deep from None
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "The body is not valid JSON.") from None


# --- rate ----------------------------------------------------------------------------------------

# INCR, and an expiry for a new window (or for a key that somehow lost its own, so that
# a counter can never stay forever); returns the count and the milliseconds left.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# After a Redis error, count in this process for this long before asking Redis again.
REDIS_RETRY_SECONDS = 5.0
# A webhook request must not wait long for a counter.
REDIS_TIMEOUT = 0.25

_local_lock = threading.Lock()
_local_windows: dict[int, tuple[float, int]] = {}  # org id -> (window's end, count)
_redis_down_until = 0.0


@lru_cache(maxsize=1)
def _script(url):
    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                  socket_connect_timeout=REDIS_TIMEOUT)
    return client.register_script(_COUNT)


def _key(org_id) -> str:
    return f"portal:webhook-rate:{org_id}"


def admit(org_id) -> None:
    """Count one request of the org's webhook; Refused(429, retry_after=seconds) when the
    org is over GRAPH_WEBHOOK_RATE_PER_ORG requests per second, counted over fixed
    windows of GRAPH_WEBHOOK_RATE_WINDOW seconds (0 turns the limit off)."""
    rate = settings.GRAPH_WEBHOOK_RATE_PER_ORG
    if rate <= 0:
        return
    window = settings.GRAPH_WEBHOOK_RATE_WINDOW
    limit = max(1, int(rate * window))
    counted = None
    if settings.REDIS_URL and time.monotonic() >= _redis_down_until:
        counted = _count_in_redis(org_id, window)
    if counted is None:
        counted = _count_here(org_id, window)
    count, seconds_left = counted
    if count > limit:
        retry_after = max(1, math.ceil(seconds_left))
        raise Refused(429, f"Too many requests for this webhook; retry after {retry_after} s.",
                      retry_after=retry_after)


def _count_in_redis(org_id, window):
    global _redis_down_until
    try:
        count, ms_left = _script(settings.REDIS_URL)(keys=[_key(org_id)],
                                                     args=[int(window * 1000)])
    except Exception as exc:  # down, slow, or refusing: a call must not wait for it
        _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("webhook rate limit: Redis did not answer (%s); counting in this "
                    "process for %.0f s", exc.__class__.__name__, REDIS_RETRY_SECONDS)
        return None
    return int(count), int(ms_left) / 1000


def _count_here(org_id, window):
    now = time.monotonic()
    with _local_lock:
        ends, count = _local_windows.get(org_id, (0.0, 0))
        if now >= ends:
            ends, count = now + window, 0
        count += 1
        _local_windows[org_id] = (ends, count)
    return count, ends - now


def reset() -> None:
    """Forget this process's counts and Redis's state of health (tests)."""
    global _redis_down_until
    with _local_lock:
        _local_windows.clear()
    _redis_down_until = 0.0
    _script.cache_clear()
