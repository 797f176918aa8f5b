"""An org's Graph webhook: the URL to register for its bot, and which org a request's key
names.

Every notification names its org by the webhook key; a burst of calls would look the
same org up twice per call. Each process keeps a found org for a few seconds (unknown
keys are never kept, so random keys cannot fill it); a save or delete in this process
forgets it at once (forwarding.apps), other processes within WEBHOOK_ORG_TTL.
"""

from __future__ import annotations

import time

from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse

from portal.models import Organization

WEBHOOK_ORG_TTL = 5.0
_webhook_orgs: dict[str, tuple[float, Organization]] = {}


def org_for_webhook(key: str) -> Organization | None:
    """The Graph org whose webhook URL carries `key`, or None."""
    if not key or len(key) > 64:
        return None
    now = time.monotonic()
    cached = _webhook_orgs.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    # Only what the webhook needs: not the (encrypted) credentials.
    org = Organization.objects.filter(webhook_key=key, provider_kind="graph").only(
        "id", "name", "provider_kind", "graph_api_version", "webhook_key").first()
    if org is not None:
        _webhook_orgs[key] = (now + WEBHOOK_ORG_TTL, org)
    return org


def forget_webhook_org(sender=None, instance=None, **kwargs):
    """Drop an org from this process's webhook cache (on save and delete), and again once
    the change is committed: a request of this process may have cached the old row in
    between."""
    _forget(instance)
    if instance is not None:
        transaction.on_commit(lambda: _forget(instance))


def _forget(instance):
    for key, (_expires, org) in list(_webhook_orgs.items()):
        if instance is None or org.pk == instance.pk:
            _webhook_orgs.pop(key, None)


def webhook_path(org: Organization) -> str:
    return reverse("graph_webhook", args=[org.webhook_key])


def webhook_url(org: Organization) -> str:
    """The callback URL to register for the org's bot (shown on the org's page)."""
    return django_settings.PUBLIC_URL + webhook_path(org)
