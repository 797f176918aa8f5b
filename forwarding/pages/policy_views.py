"""The destination policy pages: the org's policy with the people whose stored
forwarding it forbids (and a bulk fix, dry run first), and a person's exceptions. The
org's own admins only, with TOTP: a partner acting for a customer is bound by the
customer's policy but does not write it; members see nothing of it but their refusals.
Writes in forwarding.rules.policy_services, reads in forwarding.rules.policy_checks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from forwarding.bulk.plan import EDIT_FEATURES, plan_edit
from forwarding.models import PolicyException
from forwarding.pages.links import person_page_url
from forwarding.pages.policy_forms import ExceptionForm, PolicyForm
from forwarding.rules import policy_checks, policy_services
from portal import access, audit
from providers.addresses import display_destination
from providers.capabilities import FEATURE_LABELS


def _own_admin(request, org_id):
    org = access.own_admin_org_or_404(request.user, org_id)
    return org, access.require_mfa(request, reverse("org_policy", args=[org.id]))


def _after(request) -> int:
    raw = request.GET.get("after", "0") or "0"
    return int(raw) if raw.isdigit() and len(raw) < 18 else 0


def _breaches(org, after):
    breaches, next_after = policy_checks.forbidden_people(org, after_id=after)
    fixable: dict[str, list] = {}
    for breach in breaches:
        if breach.feature in EDIT_FEATURES:
            fixable.setdefault(breach.feature, [])
            if breach.person.pk not in fixable[breach.feature]:
                fixable[breach.feature].append(breach.person.pk)
    return {
        "breaches": [(b, FEATURE_LABELS.get(b.feature, b.feature),
                      display_destination(b.destination)) for b in breaches],
        "next_after": next_after,
        "fixable": [(feature, EDIT_FEATURES[feature], len(ids))
                    for feature, ids in fixable.items()],
    }


def _page(request, org, form, *, status=200):
    after = _after(request)
    row = policy_checks.policy_row(org)
    return render(request, "forwarding/policy.html", {
        "org": org, "form": form, "policy": row, "after": after,
        "exceptions": policy_checks.org_exceptions(org)[:200],
        **(_breaches(org, after) if row is not None else {}),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def org_policy(request, org_id):
    org, refused = _own_admin(request, org_id)
    if refused:
        return refused
    if request.method == "GET":
        values = policy_services.policy_values(policy_checks.policy_row(org))
        return _page(request, org, PolicyForm.for_values(values))
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _page(request, org, form, status=400)
    try:
        policy_services.policy_update(org=org, data=form.policy_data(),
                                      actor=audit.actor_from_request(request))
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
        return _page(request, org, form, status=400)
    messages.success(request, "Policy saved. It applies to every change from now on; the "
                              "people whose forwarding it forbids today are listed below.")
    return redirect(reverse("org_policy", args=[org.id]) + "#forbidden")


@login_required
@require_http_methods(["GET"])
def org_policy_fix(request, org_id):
    """The dry run of turning one forwarding off for the people of one page of the
    listing who break the policy with it; the form posts to the bulk edit, which starts
    the job."""
    org, refused = _own_admin(request, org_id)
    if refused:
        return refused
    feature = request.GET.get("feature", "")
    if feature not in EDIT_FEATURES:
        # Only the forwarding a bulk edit can turn off has a fix here; back to the list.
        return redirect(reverse("org_policy", args=[org.id]) + "#forbidden")
    breaches, _next = policy_checks.forbidden_people(org, after_id=_after(request))
    ids = list(dict.fromkeys(b.person.pk for b in breaches if b.feature == feature))
    plan = plan_edit(org, ids, feature=feature, action="off") if ids else None
    return render(request, "forwarding/policy_fix.html", {
        "org": org, "feature": feature, "label": EDIT_FEATURES[feature], "plan": plan,
        "ids": ids,
    })


def _person(request, person_id):
    person = access.person_for(request.user, person_id)
    if person.org_id not in access.own_admin_org_ids(request.user):
        raise Http404("No such person")
    return person, access.require_mfa(request, person_page_url(request, person))


@login_required
@require_POST
def person_policy_exception(request, person_id):
    person, refused = _person(request, person_id)
    if refused:
        return refused
    form = ExceptionForm(request.POST)
    if form.is_valid():
        try:
            policy_services.exception_grant(person=person, actor=audit.actor_from_request(
                request), **form.cleaned_data)
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, errors)
        else:
            messages.success(request, f"Exception granted to {person.display_name}.")
            return redirect(person_page_url(request, person) + "#policy-heading")
    return render(request, "forwarding/policy_exception.html",
                  {"person": person, "org": person.org, "form": form,
                   "exceptions": policy_checks.exceptions_of(person)}, status=400)


@login_required
@require_POST
def person_policy_exception_revoke(request, person_id, exception_id):
    person, refused = _person(request, person_id)
    if refused:
        return refused
    row = PolicyException.objects.filter(person=person, pk=exception_id).first()
    if row is None:
        raise Http404("No such exception")
    policy_services.exception_revoke(exception=row, actor=audit.actor_from_request(request))
    messages.success(request, f"Exception revoked for {person.display_name}.")
    return redirect(person_page_url(request, person) + "#policy-heading")


def person_context(request, person) -> dict:
    """What the person page shows of the policy: the person's exceptions, to the org's
    own admins (members and partners see nothing of it)."""
    if not request.user.is_authenticated or \
            person.org_id not in access.own_admin_org_ids(request.user):
        return {}
    return {"policy_exceptions": policy_checks.exceptions_of(person),
            "exception_form": ExceptionForm(), "policy_admin": True}
