"""Pushes per second per provider org, shared by every worker.

A GCRA scheduler (a token bucket seen as "theoretical arrival time"): each push reserves
the next free slot, so N pushes at rate R are spread evenly over N/R seconds and never
burst above R. A 429 pauses the whole org until the provider's Retry-After.

Slots are reserved ahead (when a change is saved), but a push runs when a worker is free
for it: on a busy machine pushes run late, and a late backlog would go out all at once,
past the provider's bucket into a run of 429s (each pausing the org for a whole
Retry-After). So every send is also admitted (`admit`) by a second GCRA that tracks
actual sends and lets them run ahead of the rate by at most PUSH_BURST_SECONDS' worth:
a backlog catches up that fast and no faster.

With REDIS_URL the state lives in Redis (atomic Lua, Redis's own clock, so workers on
several machines agree). Without Redis (the zero-setup demo) it lives on the organization
row, updated under a row lock.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import transaction

from portal.models import Organization

_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return -(paused - now)
end
local interval = tonumber(ARGV[1])
local earliest = now + tonumber(ARGV[2] or '0')
local count = tonumber(ARGV[3] or '1')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < earliest then tat = earliest end
local last = tat + interval * count
redis.call('SET', KEYS[1], last, 'PX', math.floor(last - now + 60000))
return tat - now
"""

_PAUSE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 60000)
end
return until_ms - now
"""


_ADMIT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then
  return {0, paused - now}
end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local sent = tonumber(redis.call('GET', KEYS[2]) or '0')
if sent < now then sent = now end
local wait = 0
if sent - now > burst then wait = sent - burst - now end
redis.call('SET', KEYS[2], sent + interval, 'PX', math.floor(sent + interval - now + 60000))
return {1, wait}
"""


@lru_cache(maxsize=1)
def _redis():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return client, client.register_script(_RESERVE), client.register_script(_PAUSE)


@lru_cache(maxsize=1)
def _admit_script():
    return _redis()[0].register_script(_ADMIT)


def _keys(org_id):
    return f"portal:pace:{org_id}", f"portal:pause:{org_id}"


def _clear():
    """Forget the clients (a test that points REDIS_URL elsewhere)."""
    _redis.cache_clear()
    _admit_script.cache_clear()


def _sent_key(org_id):
    return f"portal:sent:{org_id}"


def reserve(org, rate_per_second=None, not_before=0.0) -> tuple[float, bool]:
    """Reserve a push slot for `org`, no earlier than `not_before` seconds from now:
    (seconds to wait before using it, reserved).

    When the org is paused by a 429, nothing is reserved (reserved is False) and the
    pause remainder is returned: the caller comes back then and reserves again.
    """
    rate = max(1, rate_per_second or org.rate_limit_per_second or 1)
    interval_ms = 1000.0 / rate
    if settings.REDIS_URL:
        _client, reserve_script, _pause = _redis()
        ms = float(reserve_script(keys=_keys(org.id),
                                  args=[interval_ms, max(0.0, not_before) * 1000]))
    else:
        ms = _reserve_in_db(org.id, interval_ms, max(0.0, not_before) * 1000)
    return abs(ms) / 1000, ms >= 0


def reserve_many(org, count: int, rate_per_second=None,
                 not_before=0.0) -> tuple[list[float], bool]:
    """`reserve` for `count` pushes at once (a bulk job's chunk): their waits, one slot
    apart, and whether they are reserved (False: the org is paused, every wait is the
    pause's remainder and each push reserves again when it runs)."""
    rate = max(1, rate_per_second or org.rate_limit_per_second or 1)
    interval_ms = 1000.0 / rate
    if settings.REDIS_URL:
        _client, reserve_script, _pause = _redis()
        ms = float(reserve_script(keys=_keys(org.id),
                                  args=[interval_ms, max(0.0, not_before) * 1000, count]))
    else:
        ms = _reserve_in_db(org.id, interval_ms, max(0.0, not_before) * 1000, count)
    if ms < 0:
        return [-ms / 1000] * count, False
    return [(ms + n * interval_ms) / 1000 for n in range(count)], True


def admit(org, rate_per_second=None) -> tuple[float, bool]:
    """Count a send of a push that holds a slot of `org`: (seconds to wait before
    sending, whether it keeps its slot). (0, True): send now. (w, True): sends are
    already PUSH_BURST_SECONDS ahead of the rate (a late backlog catching up); this one
    is counted at its own turn, `w` from now, one slot after the previous held one, and
    sends then without asking again. (w, False): the org is paused by a 429 for `w`;
    nothing is counted and the push reserves a new slot after the pause."""
    if not settings.REDIS_URL:
        return paused_for(org), False  # the demo's single worker never runs a backlog
    rate = max(1, rate_per_second or org.rate_limit_per_second or 1)
    keeps, ms = _admit_script()(keys=[_keys(org.id)[1], _sent_key(org.id)],
                                args=[1000.0 / rate, settings.PUSH_BURST_SECONDS * 1000])
    return float(ms) / 1000, bool(keeps)


def paused_for(org) -> float:
    """Seconds left of a 429 pause of `org` (0 when not paused)."""
    if settings.REDIS_URL:
        client, _reserve, _pause = _redis()
        until = client.get(_keys(org.id)[1])
        if until is None:
            return 0.0
        seconds, micros = client.time()
        return max(0.0, (float(until) - (seconds * 1000 + micros / 1000)) / 1000)
    until = Organization.objects.filter(pk=org.id).values_list(
        "push_paused_until_ms", flat=True).first() or 0
    return max(0.0, (until - time.time() * 1000) / 1000)


def pause(org, seconds: float) -> None:
    """Hold every push of `org` for `seconds` (a 429's Retry-After)."""
    ms = max(0, int(seconds * 1000))
    if settings.REDIS_URL:
        _client, _reserve, pause_script = _redis()
        pause_script(keys=[_keys(org.id)[1]], args=[ms])
        return
    _pause_in_db(org.id, ms)


def _reserve_in_db(org_id, interval_ms, not_before_ms=0.0, count=1):
    now = time.time() * 1000
    with transaction.atomic():
        org = Organization.objects.select_for_update().only(
            "push_tat_ms", "push_paused_until_ms").get(pk=org_id)
        if org.push_paused_until_ms > now:
            return -(org.push_paused_until_ms - now)
        tat = max(org.push_tat_ms, now + not_before_ms)
        org.push_tat_ms = tat + interval_ms * count
        org.save(update_fields=["push_tat_ms"])
        return tat - now


def _pause_in_db(org_id, ms):
    until = time.time() * 1000 + ms
    with transaction.atomic():
        org = Organization.objects.select_for_update().only("push_paused_until_ms").get(pk=org_id)
        if until > org.push_paused_until_ms:
            org.push_paused_until_ms = until
            org.save(update_fields=["push_paused_until_ms"])
