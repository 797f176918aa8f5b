"""A long-running process freezes what it loaded at start (portal.startup), so that a full
garbage collection does not walk, and pause the process for, every module and table."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, time
import portal.wsgi  # what gunicorn loads in each worker
started = time.perf_counter()
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects()),
                  "full_collection_ms": (time.perf_counter() - started) * 1000}))
"""


def test_a_web_process_freezes_what_it_loaded():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings.test")
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=120)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Django and the project are tens of thousands of objects; a full collection then
    # walks only the few made since.
    assert seen["frozen"] > 20_000, seen
    assert seen["walked"] < seen["frozen"] / 5, seen


def test_a_celery_worker_freezes_what_it_loaded_once_ready():
    from portal.celery import _freeze_loaded_objects

    before = gc.get_freeze_count()
    try:
        made_since = [[] for _ in range(1000)]  # tracked containers made after any freeze
        _freeze_loaded_objects(sender=None)
        assert gc.get_freeze_count() >= before + len(made_since)
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
