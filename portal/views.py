"""Tenancy pages: home, an organization's settings (delegations, invitations, members and
offboarding, the Teams webhook key), the invitation landing page. Thin: access checks
from `access`, writes in `services`."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from forwarding.calltime import manifests, webhook_orgs
from portal import access, audit, org_services, services
from portal.emails import same_address
from portal.forms import DelegationForm, InvitationForm, SetPasswordForm, TimeZoneForm
from portal.models import Delegation, Membership, Person

MEMBERS_PAGE_SIZE = 50


API_NOT_FOUND = "No such object, or not one you may see."


def not_found(request, exception=None):
    """404 for every unmatched URL: JSON under /api/ (what the API documents), the
    site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": API_NOT_FOUND}, status=404)
    return render(request, "404.html", status=404)


@csrf_exempt  # it changes nothing; a POST must get the same JSON 404, not a CSRF page
def api_not_found(request):
    """Every path under /api/ that no API URL matches (the last pattern under /api/).

    A route rather than handler404 alone: with DEBUG on, Django answers an unmatched URL
    with its HTML technical 404 page without asking handler404, and CommonMiddleware would
    redirect a missing trailing slash (or, for a POST, raise an error page); API clients
    get the documented JSON in every configuration instead."""
    detail = API_NOT_FOUND
    if not request.path.endswith("/"):
        match = _resolve(request.path + "/")
        if match is not None and match.url_name != "api_not_found":
            detail = f"No such URL; the API's URLs end with a slash: {request.path}/"
    return JsonResponse({"detail": detail}, status=404)


def _resolve(path):
    try:
        return resolve(path)
    except Resolver404:
        return None


def server_error(request):
    """500 without a traceback: the error is in the server log, not on the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side. It was logged; "
                                       "try again in a minute."}, status=500)
    return render(request, "500.html", status=500)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    person = request.user.people.first()
    if person is not None:
        return redirect("my_forwarding")
    orgs = list(access.manageable_orgs(request.user))
    if len(orgs) == 1:
        return redirect("org_people", org_id=orgs[0].id)
    return render(request, "portal/home.html", {"orgs": orgs})


@login_required
def org_settings(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    return _settings_page(request, org, via)


def _settings_page(request, org, via, *, invite_form=None, delegation_form=None,
                   zone_form=None, status=200):
    """The org's settings page, also when a form on it comes back with errors: one
    context, so a re-shown page never loses a section."""
    delegations = (
        Delegation.objects.filter(customer=org).select_related("partner").order_by("-granted_at")
    )
    received = (
        Delegation.objects.active().filter(partner=org).select_related("customer")
        if via is None else []
    )
    if delegation_form is None and via is None:
        delegation_form = DelegationForm(customer=org)
    return render(request, "portal/org_settings.html", {
        "org": org,
        "via_partner": via,
        "delegations": delegations,
        "received": received,
        "invite_form": invite_form or InvitationForm(),
        "zone_form": zone_form or TimeZoneForm(initial={"time_zone": org.time_zone}),
        "delegation_form": delegation_form,
        "members": _members_page(request, org),
        **_call_time_context(org),
    }, status=status)


def _members_page(request, org):
    """A page of the org's members, each with the lines of this org linked to them (two
    queries whatever the number of members)."""
    memberships = (
        Membership.objects.filter(org=org).select_related("user")
        .prefetch_related(Prefetch("user__people", to_attr="org_lines",
                                   queryset=Person.objects.filter(org=org)))
        .order_by("user__email", "pk")
    )
    return Paginator(memberships, MEMBERS_PAGE_SIZE).get_page(request.GET.get("members_page"))


def _call_time_context(org):
    """The Graph bot's callback URL, or the Lync manifest's state, for the org's page."""
    return {
        "webhook_url": webhook_orgs.webhook_url(org) if org.provider_kind == "graph" else None,
        "manifest": manifests.manifest_status(org) if org.provider_kind == "lync" else None,
    }


@login_required
@require_POST
def org_invite(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    if via is not None and request.POST.get("role") == Membership.ADMIN:
        # An admin invited by a partner would stay the customer's admin after the
        # delegation is revoked; only the organization's own admins make admins.
        return HttpResponse("Only the organization's own admins can invite admins.", status=403)
    refused = access.require_mfa(request, reverse("org_settings", args=[org.id]))
    if refused is not None:
        return refused
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                org=org, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                actor=audit.actor_from_request(request, via_partner=via),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("org_settings", org_id=org.id)
    return _settings_page(request, org, via, invite_form=form, status=400)


@login_required
@require_POST
def org_time_zone(request, org_id):
    """The org's time zone: its admins, or a partner acting for it (audited as such)."""
    org, via = access.admin_org_or_404(request.user, org_id)
    refused = access.require_mfa(request, reverse("org_settings", args=[org.id]))
    if refused is not None:
        return refused
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        try:
            org_services.organization_update(
                org=org, changes={"time_zone": form.cleaned_data["time_zone"]},
                actor=audit.actor_from_request(request, via_partner=via))
        except ValidationError as exc:
            form.add_error("time_zone", exc.message_dict.get("time_zone", exc.messages))
        else:
            messages.success(request, f"{org.name}'s time zone is now "
                             f"{form.cleaned_data['time_zone']}.")
            return redirect("org_settings", org_id=org.id)
    return _settings_page(request, org, via, zone_form=form, status=400)


@login_required
@require_POST
def delegation_grant(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    if via is not None:  # a partner cannot delegate a customer onward
        return HttpResponse("Only the organization's own admins can delegate.", status=403)
    refused = access.require_mfa(request, reverse("org_settings", args=[org.id]))
    if refused is not None:
        return refused
    form = DelegationForm(request.POST, customer=org)
    if form.is_valid():
        try:
            services.delegation_grant(
                customer=org, partner=form.cleaned_data["partner"],
                actor=audit.actor_from_request(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{form.cleaned_data['partner'].name} can now act for {org.name}."
            )
            return redirect("org_settings", org_id=org.id)
    return _settings_page(request, org, via, delegation_form=form, status=400)


@login_required
@require_POST
def delegation_revoke(request, org_id, delegation_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    if via is not None:
        return HttpResponse("Only the organization's own admins can revoke.", status=403)
    refused = access.require_mfa(request, reverse("org_settings", args=[org.id]))
    if refused is not None:
        return refused
    delegation = get_object_or_404(Delegation, pk=delegation_id, customer=org)
    services.delegation_revoke(delegation=delegation, actor=audit.actor_from_request(request))
    messages.success(request, f"{delegation.partner.name} can no longer act for {org.name}.")
    return redirect("org_settings", org_id=org.id)


def _own_admin_write(request, org_id, what):
    """The org (for its own TOTP-enabled admins) or the response that refuses: partners
    get 403 (offboarding and the webhook key are the organization's own business)."""
    org, via = access.admin_org_or_404(request.user, org_id)
    if via is not None:
        return org, HttpResponse(f"Only the organization's own admins can {what}.", status=403)
    return org, access.require_mfa(request, reverse("org_settings", args=[org.id]))


@login_required
@require_POST
def member_remove(request, org_id, membership_id):
    org, refused = _own_admin_write(request, org_id, "remove members")
    if refused is not None:
        return refused
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id,
                                   org=org)
    try:
        effects = services.membership_remove(membership=membership,
                                             actor=audit.actor_from_request(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("org_settings", org_id=org.id)
    stopped = len(effects.get("jobs_stopped", []))
    note = f" {stopped} running bulk job{'s' if stopped != 1 else ''} stopped." if stopped \
        else ""
    messages.success(request, f"{membership.user} was removed from {org.name}.{note}")
    return redirect("org_settings", org_id=org.id)


@login_required
@require_POST
def person_unlink(request, org_id, person_id):
    org, refused = _own_admin_write(request, org_id, "unlink accounts")
    if refused is not None:
        return refused
    person = get_object_or_404(Person.objects.select_related("user"), pk=person_id, org=org)
    account = person.user
    if services.person_unlink(person=person, actor=audit.actor_from_request(request)):
        messages.success(request, f"{account} no longer owns the line of "
                                  f"{person.display_name}.")
    else:
        messages.info(request, f"No account is linked to {person.display_name}.")
    return redirect("org_settings", org_id=org.id)


@login_required
@require_POST
def webhook_key_rotate(request, org_id):
    org, refused = _own_admin_write(request, org_id, "change the webhook key")
    if refused is not None:
        return refused
    try:
        services.webhook_key_rotate(org=org, actor=audit.actor_from_request(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("org_settings", org_id=org.id)
    messages.success(request, "The webhook URL changed; the old one no longer works. "
                              "Register the new callback URL with the bot now.")
    return redirect("org_settings", org_id=org.id)


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """The invitation link. For an address without an account it lets the visitor choose
    a password. It never signs anybody into an existing account: a link can leak (a
    forwarded mail, a log, a proxy), so the owner of an existing account signs in the
    normal way (password, then TOTP) and comes back here to accept."""
    invitation = services.invitation_lookup(token)
    if invitation is None:
        return render(request, "portal/invitation_invalid.html", status=404)
    context = {"invitation": invitation, "here": request.path}
    if request.user.is_authenticated:
        return _accept_signed_in(request, invitation, context)
    if services.account_for_address(invitation.email) is not None:
        # The password typed here, if any, is ignored: sign-in happens on the sign-in page.
        return render(request, "portal/invitation_sign_in.html", context)
    form = SetPasswordForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation=invitation, password=form.cleaned_data["password1"],
                ip=audit.client_ip(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.org.name}.")
            return redirect("home")
    return render(request, "portal/invitation_accept.html", {**context, "form": form})


def _accept_signed_in(request, invitation, context):
    if not same_address(request.user.email, invitation.email):
        # Not an error of the site: the visitor is signed in as somebody else.
        return render(request, "portal/invitation_other_account.html", context, status=403)
    if request.method == "POST":
        try:
            services.invitation_accept_signed_in(
                invitation=invitation, user=request.user, ip=audit.client_ip(request))
        except ValidationError as exc:
            return render(request, "portal/invitation_join.html",
                          {**context, "errors": exc.messages}, status=400)
        messages.success(request, f"Welcome to {invitation.org.name}.")
        return redirect("home")
    return render(request, "portal/invitation_join.html", context)
