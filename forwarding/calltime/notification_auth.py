"""Is a Graph notification from Graph? The webhook's second factor, after the secret key
in its URL: the bearer token Graph signs every notification with (issue 14, item 5),
verified by providers.bot_tokens against the org's bot application id
(portal.connections.selectors.bot_app_id) and tenant (`provider_org_id`), with the keys of
GRAPH_NOTIFICATION_OPENID_CONFIG.

A refusal is a `guard.Refused(401)`: the sender learns nothing more, the log says why,
and the org's Connection page counts it (refused notifications per hour). It comes
before the body is read, so a refused notification costs no parsing and leaves no call
record or audit row.
"""

from __future__ import annotations

import logging

from django.conf import settings

from forwarding.calltime.guard import Refused
from portal.connections import notices
from portal.connections.selectors import bot_app_id
from providers import bot_tokens

log = logging.getLogger(__name__)

REFUSED_MESSAGE = "The notification's bearer token is missing or not valid."


def authenticate(request, org) -> None:
    """Return when the request's bearer token is Graph's for this org; Refused(401) else.

    GRAPH_NOTIFICATION_AUTH=False lets every notification in (an emergency switch, with
    a warning per notification)."""
    if not settings.GRAPH_NOTIFICATION_AUTH:
        log.warning("graph webhook org=%s: notification accepted WITHOUT checking its token "
                    "(GRAPH_NOTIFICATION_AUTH is off)", org.pk)
        return
    try:
        token = bot_tokens.bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        bot_tokens.verify(
            token, audience=bot_app_id(org), tenant=org.provider_org_id,
            keys=bot_tokens.key_source(settings.GRAPH_NOTIFICATION_OPENID_CONFIG),
            issuers=settings.GRAPH_NOTIFICATION_ISSUERS,
            leeway=settings.GRAPH_NOTIFICATION_LEEWAY_SECONDS)
    except bot_tokens.BotTokenError as exc:
        reason = exc.reason
    except Exception as exc:  # a check that breaks refuses (fails closed), never a 500
        log.exception("graph webhook org=%s: the token check failed", org.pk)
        reason = f"the check failed ({exc.__class__.__name__})"
    else:
        return
    log.warning("graph webhook org=%s: notification refused: %s", org.pk, reason)
    notices.count_hour(org.pk, refused_notifications=1)
    raise Refused(401, REFUSED_MESSAGE)
