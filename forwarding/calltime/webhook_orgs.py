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
    # Only what the webhook needs, in one query: not the (encrypted) credentials; the
    # connection for the bot's application id (portal.connections.selectors.bot_app_id).
    org = Organization.objects.filter(webhook_key=key, provider_kind="graph").select_related(
        "connection").only(
        "id", "name", "provider_kind", "graph_api_version", "webhook_key", "provider_org_id",
        "connection__id", "connection__org_id", "connection__client_id").first()
    if org is not None:
        _webhook_orgs[key] = (now + WEBHOOK_ORG_TTL, org)
    return org


def forget_webhook_org(sender=None, instance=None, **kwargs):
    """Drop an org from this process's webhook cache (on save and delete), and again once
    the change is committed: a request of this process may have cached the old row in
    between."""
    _forget_soon(None if instance is None else instance.pk)


def forget_connection_org(sender=None, instance=None, **kwargs):
    """The same for the org of a saved or deleted ProviderConnection (its client id is
    the audience of the org's notification tokens)."""
    if instance is not None:
        _forget_soon(instance.org_id)


def _forget_soon(org_id):
    _forget(org_id)
    if org_id is not None:
        transaction.on_commit(lambda: _forget(org_id))


def _forget(org_id):
    for key, (_expires, org) in list(_webhook_orgs.items()):
        if org_id is None or org.pk == org_id:
            _webhook_orgs.pop(key, None)


def webhook_path(org: Organization) -> str:
    return reverse("graph_webhook", args=[org.webhook_key])


def webhook_url(org: Organization) -> str:
    """The callback URL to register for the org's bot (shown on the org's page)."""
    return django_settings.PUBLIC_URL + webhook_path(org)
