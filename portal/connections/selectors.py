"""Reads about an organization's connection that more than one room needs."""

from __future__ import annotations

from django.conf import settings

from portal.connections.tokens import connection_of


def bot_app_id(org) -> str:
    """The application id of the org's Teams calling bot: the audience of the tokens
    Graph signs its notifications with, and the `appId` the sandbox's lines carry.

    The org's own Microsoft app when its connection names one, else the portal's
    multi-tenant app (MICROSOFT_CLIENT_ID)."""
    conn = connection_of(org)
    if conn is not None and conn.client_id:
        return conn.client_id
    return settings.MICROSOFT_CLIENT_ID
