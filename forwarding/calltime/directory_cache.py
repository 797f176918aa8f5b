"""The Graph bot's per-process memory of who is behind a destination.

Every redirect that rings somebody other than the called person asks the directory
(forwarding.rules.directory.people_behind) which person of the org a destination reaches,
so that a colleague rings as their Teams identity. Compiling that lookup through the ORM
cost about a fifth of the web process's CPU under a burst of calls (bench/graph_latency.py,
py-spy --gil), and in a burst the same destinations come back again and again.

So each process keeps an answer for DIRECTORY_TTL seconds, like the webhook's org
(forwarding.calltime.webhook_orgs): a person saved or deleted in this process empties it
at once (forwarding.apps); other processes see the change within the TTL. At worst a
destination whose owner changed in that moment rings as a phone number instead of as
the colleague's Teams identity, or the other way round, for those few seconds.
"""

from __future__ import annotations

import threading
import time

from forwarding.rules import directory

DIRECTORY_TTL = 5.0
MAX_ENTRIES = 10_000

_lock = threading.Lock()
_answers: dict[tuple, tuple[float, dict]] = {}


def people_behind(org, destinations, region) -> dict:
    """directory.people_behind(org, destinations, region=region), remembered briefly.
    The people in the answer are shared between threads: read them, never change them."""
    key = (org.pk, region, tuple(sorted(set(destinations))))
    now = time.monotonic()
    found = _answers.get(key)
    if found is not None and found[0] > now:
        return found[1]
    answer = directory.people_behind(org, destinations, region=region)
    with _lock:
        if len(_answers) >= MAX_ENTRIES:
            _answers.clear()
        _answers[key] = (now + DIRECTORY_TTL, answer)
    return answer


def forget(sender=None, **kwargs):
    """Forget every answer (a person was saved or deleted in this process)."""
    with _lock:
        _answers.clear()
