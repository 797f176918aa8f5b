"""A small, bounded pool of threads inside the current process, for work that cannot
afford a trip through the broker (the Graph bot's redirects: Graph drops the call 15
seconds after notifying us, and every millisecond is the caller's ringing time).

Bounded twice: `threads` run at once and at most `backlog` more wait; a `submit` beyond
that returns False at once, and the caller takes its durable road (the Celery queue)
instead. Nothing submitted here is the only record of the work: callers write the row
first and a beat task recovers rows whose thread died with its process.

The pool is made lazily and per process id, so a pool never crosses a fork (gunicorn
forks its workers after importing the app). After each job, a database connection that
saw an error (and no longer answers) or is older than CONN_MAX_AGE is closed; a healthy
one is kept, and not health-checked again before the next job: that check is a round
trip per call. The price is that the first job after a database restart fails on its
first query; its row says the work is still to do, and the recovery task takes it.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from portal.dbconnections import tidy_connections

log = logging.getLogger(__name__)

_pools: dict[str, ThreadPool] = {}
_lock = threading.Lock()


class ThreadPool:
    def __init__(self, name: str, threads: int, backlog: int | None = None):
        self.name = name
        self.threads = threads
        self.pid = os.getpid()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        # A job waiting here for a thread still starts sooner than one sent through the
        # broker to another process: keep a deep backlog, bounded all the same.
        self._slots = threading.BoundedSemaphore(threads + (4 * threads if backlog is None
                                                            else backlog))

    def submit(self, fn, *args, **kwargs) -> bool:
        """Run fn(*args, **kwargs) in a thread of the pool; False when the pool is full
        or shutting down (nothing was started)."""
        if not self._slots.acquire(blocking=False):
            log.info("%s pool full: the caller takes the queue", self.name)
            return False
        try:
            self._executor.submit(self._run, fn, args, kwargs)
        except RuntimeError:  # the interpreter or the pool is shutting down
            self._slots.release()
            return False
        return True

    def _run(self, fn, args, kwargs):
        try:
            fn(*args, **kwargs)
        except Exception:
            # The caller's row still says what is left to do; recovery picks it up.
            log.exception("%s job %s failed", self.name, getattr(fn, "__name__", fn))
        finally:
            tidy_connections()
            self._slots.release()

    def shutdown(self, wait: bool = True):
        """Stop taking jobs; with `wait`, finish the queued ones and close every
        thread's database connections (a test database can then be dropped)."""
        if wait:
            # One closing job per thread: each waits at the barrier until all have
            # started, so no thread can take two and leave another's connection open.
            barrier = threading.Barrier(self.threads)

            def close():
                try:
                    barrier.wait(10)
                except threading.BrokenBarrierError:
                    pass
                connections.close_all()

            try:
                for _ in range(self.threads):
                    self._executor.submit(close)
            except RuntimeError:  # already shut down
                pass
        self._executor.shutdown(wait=wait)


def shutdown_all():
    """Shut this process's pools down, waiting for their jobs (tests, process exit)."""
    with _lock:
        pools = [p for p in _pools.values() if p.pid == os.getpid()]
        _pools.clear()
    for each in pools:
        each.shutdown(wait=True)


def pool(name: str, threads: int) -> ThreadPool:
    """This process's pool called `name` (made on first use, and again after a fork)."""
    current = _pools.get(name)
    if current is not None and current.pid == os.getpid() and current.threads == threads:
        return current
    with _lock:
        current = _pools.get(name)
        if current is None or current.pid != os.getpid() or current.threads != threads:
            if current is not None and current.pid == os.getpid():
                # A settings change (tests): drain it in the background.
                threading.Thread(target=current.shutdown, daemon=True).start()
            current = _pools[name] = ThreadPool(name, threads)
        return current
