"""Writes to organizations. Django admin is the only page that creates or edits them, and
it goes through here so that each change is validated (the provider base URL above all:
the org's token is sent there) and audited in the same transaction."""

from django.db import transaction

from portal import audit
from portal.models import Organization

# What an org row says, for the audit log; credentials are never written to the log.
AUDITED_FIELDS = ["name", "provider_kind", "provider_org_id", "base_url", "default_region",
                  "rate_limit_per_second", "graph_api_version", "time_zone"]


def _values(org, names):
    return {name: getattr(org, name) for name in names if name in AUDITED_FIELDS}


@transaction.atomic
def organization_create(*, org: Organization, actor: audit.Actor) -> Organization:
    """Save the new, unsaved `org`."""
    org.full_clean()
    org.save()
    audit.record(event=audit.Event.ORGANIZATION_CREATED, actor=actor, org=org,
                 new=_values(org, AUDITED_FIELDS))
    return org


@transaction.atomic
def organization_update(*, org: Organization, changes: dict, actor: audit.Actor):
    """Apply `changes` (field -> value) to `org`, with the old and new values audited."""
    current = Organization.objects.select_for_update().get(pk=org.pk)
    old = _values(current, changes)
    for name, value in changes.items():
        setattr(current, name, value)
    current.full_clean()
    if not changes:
        return current
    current.save(update_fields=list(changes))
    audit.record(event=audit.Event.ORGANIZATION_UPDATED, actor=actor, org=current,
                 old=old, new=_values(current, changes))
    return current
