"""What the forwarding side drops when access to an org is withdrawn (a delegation
revoked, an admin removed from the org): the withdrawn actor's bulk jobs stop, and the
people a partner changed are pushed with the org's own connection again.

Connected to portal.signals.access_withdrawn in forwarding.apps; runs inside the
withdrawing service's transaction, so its changes commit together with the revocation
and its audit rows. The pushes do not depend on this bookkeeping alone:
sync.connection_for uses a partner's credentials only while its delegation is in force,
and the bulk apply loop checks its creator's access before every row.
"""

from __future__ import annotations

from django.db.models import Q

from forwarding.bulk import jobs
from forwarding.models import BulkJob, ForwardingSettings
from portal import access


def on_access_withdrawn(sender=None, *, org, partner=None, user=None, actor, reason, **kwargs):
    # Jobs first: see jobs.job_stop about the order of locks.
    stopped = stop_jobs_without_access(org=org, partner=partner, user=user, actor=actor,
                                       reason=reason)
    effects = {"jobs_stopped": stopped}
    if partner is not None:
        effects["pushes_switched_to_own_connection"] = switch_to_own_connection(
            org=org, partner=partner)
    return effects


def stop_jobs_without_access(*, org, partner, user, actor, reason) -> list[int]:
    """Stop the running jobs on `org` (and, for a user, on the customer orgs `org` is a
    partner of) whose creator no longer reaches the job's org the way they started it.
    Returns the ids of the jobs stopped."""
    running = BulkJob.objects.filter(status__in=BulkJob.ACTIVE).select_related(
        "org", "created_by", "via_partner")
    if partner is not None:
        running = running.filter(org=org, via_partner=partner)
    elif user is not None:
        # A partner org's admin removed from the partner org acted on its customers.
        running = running.filter(Q(org=org) | Q(via_partner=org), created_by=user)
    else:
        running = running.filter(org=org)
    stopped = []
    for job in running.order_by("pk"):
        if access.still_reaches(job.created_by, job.org, job.via_partner):
            continue  # e.g. an unlinked line: its admin is still an admin
        if jobs.job_stop(job=job, reason=reason, actor=actor):
            stopped.append(job.pk)
    return stopped


def switch_to_own_connection(*, org, partner) -> int:
    """Forget that these people's latest change came from `partner`: their next push,
    retry, window tick and drift check use the org's own connection. Returns how many."""
    return ForwardingSettings.objects.filter(
        person__org=org, push_via_partner=partner).update(push_via_partner=None)
