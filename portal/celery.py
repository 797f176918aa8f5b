"""The Celery app. Three queues keep interactive work from waiting behind bulk work:

- calls: call-time decisions (Graph redirects) with a 15-second provider deadline;
- interactive: one person's push after an edit, "retry now", drift checks;
- bulk: imports, bulk edits and the sweeper's catch-up pushes.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue has its own exchange and key: a message for one never lands in another.
app.conf.task_queues = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("calls", "interactive", "bulk")
)
app.conf.task_default_exchange = "interactive"
app.conf.task_default_routing_key = "interactive"
app.conf.task_default_queue = "interactive"
# Each room keeps its own tasks module; domain code queues them by name.
app.autodiscover_tasks(["portal.connections", "portal.events", "forwarding.rules",
                        "forwarding.sync", "forwarding.calltime", "forwarding.bulk",
                        "forwarding.upkeep"])


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs):
    """Around each task, what Django does around each request: drop a connection that is
    broken or older than CONN_MAX_AGE, keep the others (settings: CELERY_DB_REUSE_MAX).
    Not for a task run eagerly inside a request: that request's transaction owns the
    connection (Celery's own fixup skips them too)."""
    task = kwargs.get("task")
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
@worker_process_init.connect
def _freeze_loaded_objects(**kwargs):
    """Once a worker has loaded the tasks (its main process for the threads and solo
    pools, each child of a prefork pool): what it loaded lives as long as it does, out of
    the collector's reach (portal.startup), so a full collection does not pause a
    redirect on the calls queue."""
    from portal.startup import freeze_loaded_objects

    freeze_loaded_objects()
