"""The Connection page of an organization and the browser side of its connect flows:
Webex (OAuth 2 authorization code with PKCE), Microsoft (admin consent, then app tokens),
UCWA (a service account), disconnect.

Only the organization's own admins (with TOTP) manage its connection; a partner acting
for a customer does not. A flow's state and PKCE verifier stay in the admin's session
with the org id, used once; the token calls and every write are in
`portal.connections.services`. Reads come from the selectors."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forwarding.calltime import selectors as call_selectors
from portal import access, audit
from portal.connections import chart, selectors, services
from portal.forms import UcwaConnectForm
from portal.middleware import allow_form_action
from portal.models import ConnectionState
from providers import oauth
from providers.base import ProviderError

FLOWS_KEY = "connection_flows"
FLOW_SECONDS = 15 * 60  # a consent page left open longer than this starts again
MAX_FLOWS = 5  # flows kept per session (several tabs); the oldest goes first
# How each provider kind connects (the org's row says how it did).
HOW = {
    "webex": "OAuth 2 authorization code with PKCE (Webex integration)",
    "graph": "Admin consent, then app tokens (client credentials)",
    "ucwa": "Service account at the deployment's token endpoint",
}
PUSHES = [chart.Series("succeeded", "Succeeded", "ok"),
          chart.Series("retried", "Retried", "warn"),
          chart.Series("failed", "Failed", "err")]
ANSWER_TIMES = [chart.Series("p50", "p50", "p50"), chart.Series("p99", "p99", "p99")]
REFUSED = [chart.Series("refused", "Refused", "err")]


def _own_admin(request, org_id):
    """(org, None) for the org's own admin with TOTP, else (org or None, the answer that
    refuses): 404 for everybody else (partners too), the TOTP set-up for an admin
    without it."""
    org = access.own_admin_org_or_404(request.user, org_id)
    return org, access.require_mfa(request, reverse("connection", args=[org.id]))


def _in_words(when) -> str:
    """How long until `when`, in one unit a person reads at a glance: "13 days",
    "5 hours", "42 minutes" (rounded down, so never later than the truth)."""
    seconds = int((when - timezone.now()).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}s"
    return f"{max(seconds, 0)} seconds"


def _expires(when) -> str:
    if when is None:
        return "does not expire"
    if when <= timezone.now():
        return "expired (renewing)"
    return f"expires in {_in_words(when)}"


def _charts(org) -> list:
    hours = selectors.chart_hours()
    if org.provider_kind == "graph":
        times = call_selectors.answer_times_by_hour(org, hours[0])
        values = {h: {"p50": v[0], "p99": v[1]} for h, v in times.items()}
        refused = selectors.refused_by_hour(org, hours)
        return [
            chart.lines(title="Bot answer time (ms)", unit="ms", series=ANSWER_TIMES,
                        hours=hours, values_by_hour=values),
            chart.stacked_bars(title="Refused notifications", unit="notifications",
                               series=REFUSED, hours=hours,
                               values_by_hour={h: {"refused": n} for h, n in refused.items()}),
        ]
    return [chart.stacked_bars(title="Pushes per hour", unit="pushes", series=PUSHES,
                               hours=hours,
                               values_by_hour=selectors.push_counts_by_hour(org, hours))]


def _page(request, org, *, ucwa_form=None, status=200):
    conn = selectors.connection_for_page(org)
    context = {"org": org, "conn": conn, "kind": org.provider_kind,
               "provider": org.capabilities.label, "how": HOW.get(org.provider_kind, ""),
               "static_token": conn is None and bool(org.credentials.get("token")),
               "tz_name": timezone.get_current_timezone_name()}
    if conn is not None:
        connected = conn.state == ConnectionState.CONNECTED
        context.update({
            "state": conn.display_state,
            "state_css": conn.display_state.replace(" ", "-"),
            "expires": _expires(conn.access_expires_at) if connected else "",
            "grant_expires": (f"ends in {_in_words(conn.refresh_expires_at)} "
                              "unless the portal uses it" if connected
                              and conn.refresh_expires_at else ""),
            "scopes": conn.scopes.split(),
            "reconnect": conn.state == ConnectionState.NEEDS_REAUTHORIZATION,
        })
    if org.provider_kind != "lync":
        context["charts"] = _charts(org)
    if org.provider_kind == "ucwa":
        context["ucwa_form"] = ucwa_form or UcwaConnectForm(initial={
            "token_url": conn.token_url if conn else "",
            "username": conn.username if conn else ""})
    response = render(request, "portal/connection.html", context, status=status)
    origin = _consent_origin(org)
    return allow_form_action(response, origin) if origin else response


def _consent_origin(org) -> str:
    """Where the connect button's redirect leads (the provider's consent page)."""
    if org.provider_kind == "webex":
        try:
            url = services.webex_base_url(org)
        except ProviderError:
            return ""  # the page says so; the button answers with the same message
    elif org.provider_kind == "graph":
        url = settings.MICROSOFT_LOGIN_URL
    else:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@login_required
@require_GET
def connection(request, org_id):
    org, refused = _own_admin(request, org_id)
    return refused or _page(request, org)


# --- the session's flows ----------------------------------------------------------------------


def _keep_flow(request, state, **flow):
    flows = {k: v for k, v in request.session.get(FLOWS_KEY, {}).items()
             if time.time() - v["at"] < FLOW_SECONDS}
    flows[state] = {**flow, "at": time.time()}
    request.session[FLOWS_KEY] = dict(sorted(flows.items(), key=lambda kv: kv[1]["at"])
                                      [-MAX_FLOWS:])


def _take_flow(request, kind):
    """The flow the callback's `state` names, removed from the session (used once), or
    None when there is none, it is too old, or it was for another provider."""
    flows = dict(request.session.get(FLOWS_KEY, {}))
    flow = flows.pop(request.GET.get("state", ""), None)
    request.session[FLOWS_KEY] = flows
    if flow is None or flow["kind"] != kind or time.time() - flow["at"] >= FLOW_SECONDS:
        return None
    return flow


def _callback_redirect_uri(name) -> str:
    """The one redirect URI of the deployment, registered at the provider."""
    return settings.PUBLIC_URL + reverse(name)


def _flow_refused(request):
    return render(request, "portal/connection_error.html", status=400)


def _callback_org(request, kind):
    """(org, flow, None) for the callback of a flow this admin started and may still
    finish (still the org's own admin, with TOTP), else (None, None, the answer)."""
    flow = _take_flow(request, kind)
    if flow is None:
        return None, None, _flow_refused(request)
    org, refused = _own_admin(request, flow["org"])
    return org, flow, refused


def _provider_error(request):
    """The words for an `error=...` the provider sent back instead of a grant."""
    error = request.GET.get("error", "")
    if error == "access_denied":
        return "The connection was not made: consent was declined at the provider."
    description = request.GET.get("error_description", "")[:300]
    return f"The provider did not grant access ({error[:60]}){': ' if description else '.'}" \
        f"{description}"


# --- Webex ------------------------------------------------------------------------------------


@login_required
@require_POST
def webex_start(request, org_id):
    org, refused = _own_admin(request, org_id)
    if refused is not None:
        return refused
    if org.provider_kind != "webex":
        messages.error(request, "This organization does not use Webex Calling.")
        return redirect("connection", org_id=org.id)
    try:
        url, state, verifier = services.start_webex(
            org, redirect_uri=_callback_redirect_uri("connection_webex_callback"))
    except (services.ConnectError, ProviderError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("connection", org_id=org.id)
    _keep_flow(request, state, org=org.id, kind="webex", verifier=verifier)
    return redirect(url)


@login_required
@require_GET
def webex_callback(request):
    org, flow, refused = _callback_org(request, "webex")
    if refused is not None:
        return refused
    if request.GET.get("error") or not request.GET.get("code"):
        messages.error(request, _provider_error(request))
        return redirect("connection", org_id=org.id)
    try:
        services.finish_webex(
            org, code=request.GET["code"], code_verifier=flow["verifier"],
            redirect_uri=_callback_redirect_uri("connection_webex_callback"),
            actor=audit.actor_from_request(request))
    except services.ConnectError as exc:
        messages.error(request, f"Webex Calling was not connected: {exc.message}")
    else:
        messages.success(request, f"Webex Calling is connected for {org.name}.")
    return redirect("connection", org_id=org.id)


# --- Microsoft --------------------------------------------------------------------------------


@login_required
@require_POST
def microsoft_start(request, org_id):
    org, refused = _own_admin(request, org_id)
    if refused is not None:
        return refused
    if org.provider_kind != "graph":
        messages.error(request, "This organization does not use Microsoft Teams.")
        return redirect("connection", org_id=org.id)
    state = oauth.new_state()
    try:
        url = services.microsoft_consent_url(
            org, tenant=org.provider_org_id, state=state,
            redirect_uri=_callback_redirect_uri("connection_microsoft_callback"))
    except services.ConnectError as exc:
        messages.error(request, exc.message)
        return redirect("connection", org_id=org.id)
    _keep_flow(request, state, org=org.id, kind="microsoft")
    return redirect(url)


@login_required
@require_GET
def microsoft_callback(request):
    org, _flow, refused = _callback_org(request, "microsoft")
    if refused is not None:
        return refused
    if request.GET.get("error") or request.GET.get("admin_consent", "").lower() != "true":
        messages.error(request, _provider_error(request))
        return redirect("connection", org_id=org.id)
    try:
        services.finish_microsoft(org, tenant=request.GET.get("tenant", ""),
                                  actor=audit.actor_from_request(request))
    except services.ConnectError as exc:
        messages.error(request, f"Microsoft Teams was not connected: {exc.message}")
    else:
        messages.success(request, f"Microsoft Teams is connected for {org.name}.")
    return redirect("connection", org_id=org.id)


# --- UCWA and disconnecting -------------------------------------------------------------------


@login_required
@require_POST
def ucwa_connect(request, org_id):
    org, refused = _own_admin(request, org_id)
    if refused is not None:
        return refused
    if org.provider_kind != "ucwa":
        messages.error(request, "This organization does not use Skype for Business (UCWA).")
        return redirect("connection", org_id=org.id)
    form = UcwaConnectForm(request.POST)
    if form.is_valid():
        try:
            services.connect_ucwa(org, token_url=form.cleaned_data["token_url"],
                                  username=form.cleaned_data["username"],
                                  password=form.cleaned_data["password"],
                                  actor=audit.actor_from_request(request))
        except services.ConnectError as exc:
            form.add_error(None, f"The token endpoint refused the service account: "
                                 f"{exc.message}")
        else:
            messages.success(request, f"Skype for Business is connected for {org.name}.")
            return redirect("connection", org_id=org.id)
    return _page(request, org, ucwa_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request, org_id):
    """GET asks for confirmation; POST disconnects."""
    org, refused = _own_admin(request, org_id)
    if refused is not None:
        return refused
    if request.method == "GET":
        return render(request, "portal/connection_disconnect.html", {
            "org": org, "provider": org.capabilities.label,
            "conn": selectors.connection_for_page(org)})
    if services.disconnect(org, actor=audit.actor_from_request(request)):
        messages.success(request, f"{org.capabilities.label} is disconnected. Forwarding "
                                  "changes wait until someone connects it again.")
    else:
        messages.info(request, "The organization was not connected.")
    return redirect("connection", org_id=org.id)
