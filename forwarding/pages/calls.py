"""Call-time pages: the Microsoft Graph bot's webhook, a person's recent calls, and the
Lync Server manifest download.

Thin: `forwarding.calltime.guard` checks the org's request rate,
`forwarding.calltime.notification_auth` the bearer token Graph signed, `guard` then reads and
measures the body, `providers.graph` parses it and `forwarding.calltime.bot` does the rest.
Nothing here talks to a provider (but for fetching Graph's signing keys, once per process
and rarely after), so the webhook answers in a few milliseconds whatever Graph or the
workers are doing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from forwarding.calltime import bot, guard, manifests, notification_auth, webhook_orgs
from forwarding.calltime import selectors as call_selectors
from forwarding.pages.links import person_page_url
from forwarding.rules import selectors
from portal import access, audit
from providers import graph

log = logging.getLogger(__name__)

PAGE_SIZE = 50


def _bad_request(message):
    return JsonResponse({"error": message}, status=400)


@csrf_exempt
def graph_webhook(request, key):
    """POST /webhooks/graph/<key>/: Graph's call notifications for one org.

    No session, no CSRF token: Graph cannot send either. What authenticates the sender
    is the unguessable key in the URL (an unknown key is a 404 like any other path), then
    the token Graph signed the request with (401)."""
    received = timezone.now()  # Graph's 15 s run from here, whatever the checks take
    org = webhook_orgs.org_for_webhook(key)
    if org is None:
        raise Http404("No such webhook")
    if request.method != "POST":
        response = JsonResponse({"error": "Use POST."}, status=405)
        response["Allow"] = "POST"
        return response
    try:
        # In this order, cheapest first: a flood is refused before its token is checked
        # (one Redis round trip), a token before the body is read (no key fetch but on
        # a new key id), and a body is measured before it is parsed.
        guard.admit(org.pk)
        notification_auth.authenticate(request, org)
        body = guard.load_json(
            guard.read_body(request, settings.GRAPH_WEBHOOK_MAX_BYTES),
            settings.GRAPH_WEBHOOK_MAX_DEPTH)
        notifications = graph.parse_notifications(body)
    except guard.Refused as exc:
        response = JsonResponse({"error": exc.message}, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    except graph.NotificationError as exc:
        return _bad_request(exc.message)
    outcomes = bot.notifications_received(org=org, notifications=notifications, now=received)
    if log.isEnabledFor(logging.DEBUG):  # the record and the audit log keep the story
        log.debug("graph webhook org=%s %s", org.pk, ", ".join(
            f"{n.call_id}:{n.state}:{o}" for n, o in zip(notifications, outcomes, strict=True)))
    return HttpResponse(status=202)


@login_required
@require_GET
def person_calls(request, person_id):
    """A person's recent calls (the person themself and their admins)."""
    person = access.person_for(request.user, person_id)
    is_self = person.user_id == request.user.id
    page = Paginator(call_selectors.recent_calls(person, limit=500), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "forwarding/calls.html", {
        "person": person,
        "org": person.org,
        "is_self": is_self,
        "via_partner": access.acting_partner(request.user, person),
        "caps": selectors.caps_for(person),
        "page_obj": page,
        "records": page.object_list,
        "page_url": person_page_url(request, person),
    })



@login_required
@require_POST
def lync_manifest(request, org_id):
    """Download the org's MSPL manifest (admins only; a read, so no MFA needed). POST,
    because every download writes an audit row."""
    org, via = access.admin_org_or_404(request.user, org_id)
    if org.provider_kind != "lync":
        raise Http404("This organization does not use Lync Server")
    manifest = manifests.manifest_download(
        org=org, actor=audit.actor_from_request(request, via_partner=via))
    response = HttpResponse(manifest, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{manifests.manifest_filename(org)}"'
    response["Cache-Control"] = "no-store"
    return response
