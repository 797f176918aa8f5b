"""The Celery app. Three queues keep interactive work from waiting behind bulk work:

- calls: call-time decisions (Graph redirects) with a 15-second provider deadline;
- interactive: one person's push after an edit, "retry now", drift checks;
- bulk: imports, bulk edits and the sweeper's catch-up pushes.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("calls"), Queue("interactive"), Queue("bulk"))
app.conf.task_default_queue = "interactive"
app.autodiscover_tasks()
