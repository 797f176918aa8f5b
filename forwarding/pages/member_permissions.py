"""The org page where its admins choose what members may change themselves (issue 18,
item 2). Admins of the org and partner admins acting for it (they manage its people's
forwarding anyway); saving needs TOTP like every admin action. The write is
forwarding.rules.permissions.member_permissions_update (audited)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from forwarding.models import MEMBER_FEATURES
from forwarding.rules import permissions, selectors
from portal import access, audit
from providers.capabilities import FEATURE_LABELS


class MemberPermissionsForm(forms.Form):
    """One box per feature, ticked when members may change it themselves: the admin says
    what is allowed; the service stores what is not (the locked ones)."""

    allowed = forms.MultipleChoiceField(
        label="Members may change these themselves", required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Untick a feature to make it read-only for members on their own page and "
        "in the API. Admins (and partner admins acting for the organization) can still "
        "change it for anyone.")

    def __init__(self, *args, caps, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        choices = []
        for feature in MEMBER_FEATURES:
            label = FEATURE_LABELS[feature]
            if not caps.supports(feature):
                label += f" (not available with {caps.label})"
            choices.append((feature, label))
        self.fields["allowed"].choices = choices

    def locked(self) -> list[str]:
        allowed = set(self.cleaned_data["allowed"])
        return [feature for feature in MEMBER_FEATURES if feature not in allowed]


def _page(request, org, via, form, *, status=200):
    row = permissions.stored(org)
    return render(request, "forwarding/member_permissions.html", {
        "org": org, "via_partner": via, "form": form, "row": row,
        "admin_to_ask": permissions.admin_to_ask(org),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def org_member_permissions(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    caps = selectors.caps_for_org(org)
    if request.method == "GET":
        locked = permissions.locked_features(org)
        initial = {"allowed": [f for f in MEMBER_FEATURES if f not in locked]}
        return _page(request, org, via, MemberPermissionsForm(initial=initial, caps=caps))
    refused = access.require_mfa(request, reverse("org_member_permissions", args=[org.id]))
    if refused:
        return refused
    form = MemberPermissionsForm(request.POST, caps=caps)
    if not form.is_valid():
        return _page(request, org, via, form, status=400)
    try:
        permissions.member_permissions_update(
            org=org, locked=form.locked(),
            actor=audit.actor_from_request(request, via_partner=via))
    except ValidationError as exc:
        form.add_error("allowed", exc.message_dict.get("locked", exc.messages))
        return _page(request, org, via, form, status=400)
    messages.success(request, "Saved: members now see the unticked features read-only, "
                     "with a sentence saying whom to ask.")
    return redirect("org_member_permissions", org_id=org.id)
