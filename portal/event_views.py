"""The Events pages of an organization: its endpoints, the secret shown once, rotate,
enable/disable, remove, a test event, and each endpoint's recent deliveries with their
attempts.

Like the provider connection, an org's event endpoints are its own admins' (with TOTP):
a partner acting for a customer does not choose where the customer's changes are sent.
Writes are in portal.events.services, reads in portal.events.selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal import access, audit
from portal.events import selectors, services
from portal.events.services import EndpointError
from portal.forms import EventEndpointForm


def _own_admin(request, org_id):
    org = access.own_admin_org_or_404(request.user, org_id)
    return org, access.require_mfa(request, reverse("org_events", args=[org.id]))


def _endpoint(request, org_id, endpoint_id):
    org, refused = _own_admin(request, org_id)
    endpoint = selectors.endpoint_for(org, endpoint_id)
    if endpoint is None:
        raise Http404("No such endpoint")
    return org, endpoint, refused


def _list(request, org, form, *, status=200):
    return render(request, "portal/events.html", {
        "org": org, "endpoints": selectors.endpoints_for(org), "form": form,
        "max_endpoints": services.MAX_ENDPOINTS_PER_ORG,
    }, status=status)


def _secret_page(request, endpoint, secret, *, rotated):
    return render(request, "portal/event_secret.html", {
        "org": endpoint.org, "endpoint": endpoint, "secret": secret, "rotated": rotated})


@login_required
@require_http_methods(["GET", "POST"])
def org_events(request, org_id):
    org, refused = _own_admin(request, org_id)
    if refused:
        return refused
    choices = services.event_type_choices()
    if request.method == "GET":
        return _list(request, org, EventEndpointForm(choices=choices))
    form = EventEndpointForm(request.POST, choices=choices)
    if not form.is_valid():
        return _list(request, org, form, status=400)
    try:
        endpoint, secret = services.endpoint_create(
            org=org, url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"],
            actor=audit.actor_from_request(request))
    except EndpointError as exc:
        form.add_error(exc.field or None, exc.message)
        return _list(request, org, form, status=400)
    # The secret is on this page only: not in a redirect's URL, the session or a message.
    return _secret_page(request, endpoint, secret, rotated=False)


@login_required
@require_http_methods(["GET"])
def event_endpoint(request, org_id, endpoint_id):
    org, endpoint, refused = _endpoint(request, org_id, endpoint_id)
    if refused:
        return refused
    return render(request, "portal/event_endpoint.html", {
        "org": org, "endpoint": endpoint,
        "deliveries": selectors.recent_deliveries(endpoint),
        "labels": dict(services.event_type_choices()),
    })


@login_required
@require_POST
def event_endpoint_rotate(request, org_id, endpoint_id):
    org, endpoint, refused = _endpoint(request, org_id, endpoint_id)
    if refused:
        return refused
    secret = services.endpoint_rotate_secret(endpoint=endpoint,
                                             actor=audit.actor_from_request(request))
    return _secret_page(request, endpoint, secret, rotated=True)


@login_required
@require_POST
def event_endpoint_enable(request, org_id, endpoint_id):
    org, endpoint, refused = _endpoint(request, org_id, endpoint_id)
    if refused:
        return refused
    enabled = request.POST.get("enabled") == "on"
    services.endpoint_set_enabled(endpoint=endpoint, enabled=enabled,
                                  actor=audit.actor_from_request(request))
    messages.success(request, "Endpoint enabled: waiting events are on their way." if enabled
                     else "Endpoint disabled: events wait until it is enabled again.")
    return redirect("event_endpoint", org.id, endpoint.id)


@login_required
@require_POST
def event_endpoint_test(request, org_id, endpoint_id):
    org, endpoint, refused = _endpoint(request, org_id, endpoint_id)
    if refused:
        return refused
    try:
        event = services.send_test(endpoint=endpoint, actor=audit.actor_from_request(request))
    except EndpointError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Test event {event.message_id} queued. Its delivery shows "
                                  "below; reload the page to see the answer.")
    return redirect("event_endpoint", org.id, endpoint.id)


@login_required
@require_POST
def event_endpoint_delete(request, org_id, endpoint_id):
    org, endpoint, refused = _endpoint(request, org_id, endpoint_id)
    if refused:
        return refused
    services.endpoint_delete(endpoint=endpoint, actor=audit.actor_from_request(request))
    messages.success(request, "Endpoint removed; nothing more is sent to it.")
    return redirect("org_events", org.id)
