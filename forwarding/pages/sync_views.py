"""Sync actions on a person's page: retry now, check the provider now, and resolve drift
(adopt the provider's state or push ours again). Thin: access from `portal.access`,
writes in `forwarding.sync.delivery` / `forwarding.sync.drift`; the provider is never
called from the request (a check is queued for a worker)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from forwarding.models import ForwardingSettings
from forwarding.pages import delivery as delivery_line
from forwarding.pages.links import person_page_url
from forwarding.rules import selectors
from forwarding.rules.services import StaleVersion
from forwarding.sync import delivery, drift, outbox
from portal import access, audit


def _load(request, person_id, *, admin_only):
    """The person's settings row when the user may act on it, else 404 (or the MFA
    redirect when they act for someone else without TOTP)."""
    person = access.person_for(request.user, person_id)
    if admin_only and not access.is_org_admin(request.user, person.org):
        raise Http404("No such person")
    row = ForwardingSettings.objects.filter(person=person).select_related("person__org").first()
    if row is None:
        raise Http404("Nothing to synchronise yet")
    if access.needs_mfa(request.user, person):
        return person, row, access.require_mfa(request, person_page_url(request, person))
    return person, row, None


def _actor(request, person):
    return audit.actor_from_request(request,
                                    via_partner=access.acting_partner(request.user, person))


@login_required
@require_POST
def retry_now(request, person_id):
    person, row, refused = _load(request, person_id, admin_only=False)
    if refused:
        return refused
    if row.version <= row.synced_version:
        messages.info(request, "Nothing to retry: the provider has the latest version.")
    else:
        delivery.retry_now(settings=row, actor=_actor(request, person))
        messages.success(request, "Retrying now. This page shows the result when it is done.")
    return redirect(person_page_url(request, person))


@login_required
@require_POST
def check_now(request, person_id):
    person, row, refused = _load(request, person_id, admin_only=True)
    if refused:
        return refused
    if not outbox.is_pushed(row):
        messages.info(request, "This provider decides at call time: there is nothing to compare.")
    else:
        try:
            drift.enqueue_check(row.pk, queue="interactive")
        except Exception:  # broker down: say so rather than pretend
            messages.error(request, "The check could not be queued right now. Try again in a "
                                    "minute.")
        else:
            messages.success(request, f"Comparing {person.display_name}'s settings with "
                                      f"{row.person.org.capabilities.label}: the result "
                                      "appears under Delivery once it has answered.")
    return redirect(person_page_url(request, person))


@login_required
@require_POST
def drift_resolve(request, person_id):
    person, row, refused = _load(request, person_id, admin_only=True)
    if refused:
        return refused
    choice = request.POST.get("choice")
    if row.drift_state is None:
        messages.info(request, "There is no difference to resolve any more.")
    elif choice == "adopt":
        try:
            drift.adopt(settings=row, actor=_actor(request, person))
        except (ValidationError, StaleVersion) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"The provider's settings cannot be adopted: {text}")
        else:
            messages.success(request, "The provider's settings are now the portal's.")
    elif choice == "override":
        drift.override(settings=row, actor=_actor(request, person))
        messages.success(request, "The portal's settings are being pushed again.")
    else:
        messages.error(request, "Choose whether to adopt the provider's settings or push ours.")
    return redirect(person_page_url(request, person))


@login_required
@require_GET
def sync_state(request, person_id):
    """What the person page's script polls: the Delivery line, rendered as on the page,
    whether it can still change by itself, and when the provider was last compared."""
    person = access.person_for(request.user, person_id)
    settings = selectors.stored_settings(person)
    caps = selectors.caps_for(person)
    context = delivery_line.context(request, person, settings, caps)
    return JsonResponse({
        "status": context["sync"]["css"],
        "label": context["sync"]["label"],
        "settled": context["settled"],
        "checked_at": context["checked_at"] or None,
        "compare": context["compare"],
        "html": render_to_string("forwarding/_delivery.html", context, request=request),
    }, headers={"Cache-Control": "no-store"})
