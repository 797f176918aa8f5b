"""The Celery app. Three queues keep interactive work from waiting behind bulk work:

- calls: call-time decisions (Graph redirects) with a 15-second provider deadline;
- interactive: one person's push after an edit, "retry now", drift checks;
- bulk: imports, bulk edits and the sweeper's catch-up pushes.
"""

import os

from celery import Celery
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
app.autodiscover_tasks()
