"""Signals of the tenancy services, for the apps above `portal` that keep work on behalf
of people (bulk jobs, pushes with a partner's credentials) and must drop it when the
access it relied on goes. `portal` never imports those apps; they connect here."""

from django.dispatch import Signal

# Sent by portal.services inside the transaction that withdraws access, so that what the
# receivers change commits (or rolls back) with it. Keyword arguments:
#   org      the Organization somebody lost access to
#   partner  the partner Organization whose delegation from `org` was revoked, or None
#   user     the User removed from `org` (or unlinked from a line of it), or None
#   actor    the audit.Actor who withdrew it
#   reason   one sentence for pages and audit rows ("The delegation to X was revoked.")
# Each receiver returns a dict of what it did; the service puts it in its audit row.
access_withdrawn = Signal()

# Sent by portal.connections when an organization's connection can issue tokens again
# (reconnected by an admin, or a renewal worked after failures), after the commit.
# Keyword arguments: org (the Organization). forwarding.sync resumes the pushes that
# waited for it (its own and those of customers it pushes for as a partner).
connection_restored = Signal()
