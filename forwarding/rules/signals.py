"""What the rules tell the rooms above them, without importing them.

`settings_changed` is sent inside the writing service's transaction, after a new
version of a person's settings and its audit row are saved. forwarding.sync connects
its outbox to it (forwarding.apps), so the rules never import the push pipeline: the
settings row is the outbox (version > synced_version means "to deliver"), and the
receiver marks it pending and queues its push once the transaction commits. A receiver
that raises rolls the change back with it. Keyword arguments: `settings` (the saved
ForwardingSettings, with `person` and its org loaded) and `queue` (the Celery queue for
the push: "interactive" for a person's own edit, "bulk" for bulk work); optionally
`push_delay` (seconds before the push's earliest slot; default the debounce, 0 for a
bulk job's rows, which have no quick second edit to wait for).

`settings_changed_many` is the same for many rows saved together (a bulk job's chunk,
forwarding.rules.batch): keyword arguments `rows` (the saved ForwardingSettings, with
`person` and its org loaded), `queue` and `push_delay`.
"""

from django.dispatch import Signal

settings_changed = Signal()
settings_changed_many = Signal()
