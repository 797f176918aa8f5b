"""What a long-running process (a web process, a Celery worker) does once it has loaded
the project: everything made so far lives as long as the process.

`freeze_loaded_objects` moves those objects to the collector's permanent generation, so
that a full collection walks only what was made since. A web process holds about 150,000
objects after start (modules, settings, URL tables, models, templates); without this,
each full collection walked them all and stopped the process's every thread for
120-230 ms, a few times a minute under load (measured in a gunicorn worker serving the
Graph bench; 110 ms in a people-list process). A Graph redirect or a page that waited
behind one had that added to its time: the p99 of bench/graph_latency.py and the p95 of
bench/people_list.py were mostly such pauses. Frozen, the same collections take 4-30 ms.
"""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> int:
    """Freeze what the process has loaded; return how many objects are frozen now. Called
    again later it freezes what was made since (harmless, and what a pre-fork master
    hands to its children is frozen for them as well)."""
    gc.collect()  # what is garbage already is not kept forever
    gc.freeze()
    return gc.get_freeze_count()
