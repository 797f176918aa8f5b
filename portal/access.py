"""Who may see and change what. Every view and API endpoint goes through these helpers,
so the rules live in one place:

- a member sees and edits only the people linked to their own user;
- an org admin sees and edits everyone in their org;
- an admin of a partner org acts on a customer org only while a delegation from that
  customer to the partner is in force (revoking it cuts access on the next request);
- changing someone else's settings needs TOTP MFA turned on.

Pages, the API and the bulk views all ask these helpers (`admin_org_or_404`, `needs_mfa`,
`require_mfa`) rather than checking memberships or MFA themselves.

Within one web request (`request_scope`, opened by portal.middleware.AccessScopeMiddleware)
a user's admin orgs and delegations are read once: a people page asked for them three
times (the view, then the navigation's org list), a query and its ORM compilation each.
A saved or deleted membership or delegation forgets them at once (receivers connected
in portal/apps.py), so a request that changes them sees the change. Outside a request
(Celery tasks, a bulk job checking `still_reaches` chunk after chunk) nothing is
remembered: a revoked delegation stops the work at its next check.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from portal.models import Delegation, Membership, Organization, Person

MFA_NEEDED = ("Turn on two-factor authentication (an authenticator app) before changing "
              "settings for other people.")


_request_memo: ContextVar[dict | None] = ContextVar("portal_access_memo", default=None)


@contextmanager
def request_scope():
    """Remember the access facts read while the block runs (one web request)."""
    token = _request_memo.set({})
    try:
        yield
    finally:
        _request_memo.reset(token)


def forget_remembered(**kwargs):
    """Forget what the current request remembered (a membership or delegation changed)."""
    memo = _request_memo.get()
    if memo is not None:
        memo.clear()


def _remembered(name, user, read):
    memo = _request_memo.get()
    if memo is None or user.pk is None:
        return read()
    key = (name, user.pk)
    if key not in memo:
        memo[key] = read()
    return memo[key]


def own_admin_org_ids(user) -> frozenset:
    return _remembered("own_admin_org_ids", user, lambda: frozenset(
        Membership.objects.filter(user=user, role=Membership.ADMIN).values_list("org_id",
                                                                                flat=True)))


def delegated_org_ids(user) -> dict:
    """Customer org id -> partner org, for partner orgs the user administers."""
    return dict(_remembered("delegated_org_ids", user, lambda: _delegated_org_ids(user)))


def _delegated_org_ids(user):
    partner_ids = own_admin_org_ids(user)
    if not partner_ids:
        return {}
    rows = Delegation.objects.active().filter(partner_id__in=partner_ids).select_related("partner")
    return {d.customer_id: d.partner for d in rows}


def manageable_orgs(user):
    """Orgs whose people this user may administer (own admin orgs and delegated ones)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    ids = own_admin_org_ids(user) | set(delegated_org_ids(user))
    return Organization.objects.filter(id__in=ids)


def partner_for(user, org):
    """The partner org through which `user` reaches `org`, None when they are its own
    admin. Raises Http404 when they reach it neither way."""
    if org.id in own_admin_org_ids(user):
        return None
    partner = delegated_org_ids(user).get(org.id)
    if partner is None:
        raise Http404("No such organization")
    return partner


def admin_org_or_404(user, org_id):
    """The org `org_id` and the partner org through which `user` administers it (None:
    they are its own admin). 404 when it does not exist or they administer it neither way,
    so a stranger cannot tell the two apart."""
    org = get_object_or_404(Organization, pk=org_id)
    return org, partner_for(user, org)


def own_admin_org_or_404(user, org_id):
    """The org `org_id` when `user` is one of its own admins; 404 otherwise, partners
    acting for it included (what belongs to the organization alone, e.g. its provider
    connection, is not delegated)."""
    org = get_object_or_404(Organization, pk=org_id)
    if org.id not in own_admin_org_ids(user):
        raise Http404("No such organization")
    return org


def is_org_admin(user, org):
    return user.is_authenticated and (
        org.id in own_admin_org_ids(user) or org.id in delegated_org_ids(user)
    )


def visible_people(user):
    if not user.is_authenticated:
        return Person.objects.none()
    org_ids = own_admin_org_ids(user) | set(delegated_org_ids(user))
    return Person.objects.filter(Q(user=user) | Q(org_id__in=org_ids))


def person_for(user, pk):
    """The person `pk` if `user` may see it; 404 otherwise (never 403: we do not confirm
    that somebody else's person exists)."""
    try:
        return visible_people(user).select_related("org").get(pk=pk)
    except (Person.DoesNotExist, ValueError, TypeError):
        raise Http404("No such person") from None


def acting_partner(user, person):
    """None when the user acts as owner or own-org admin, else the partner org."""
    if person.user_id == user.id:
        return None
    return partner_for(user, person.org)


def needs_mfa(user, person=None):
    """True when `user` would change someone else's settings without MFA: `person`'s
    when given (their own line needs none), else anybody's (an admin action on an org,
    a bulk job)."""
    if person is not None and person.user_id == user.id:
        return False
    # "Turned on" suffices because no session of such a user exists without the code:
    # every sign-in, a password or a work account (Microsoft, Webex), passes allauth's
    # MFA stage, which asks for it (MFA_TRUST_ENABLED is off; tested in
    # tests/portal/test_signin_work_account.py and tests/browser/).
    return not is_mfa_enabled(user)


def require_mfa(request, next_url):
    """For pages: the redirect to TOTP set-up (with a message, back to `next_url` after)
    when the user has no MFA, else None."""
    if not needs_mfa(request.user):
        return None
    messages.warning(request, MFA_NEEDED)
    return redirect(reverse("mfa_activate_totp") + f"?next={next_url}")


def still_reaches(user, org, via_partner):
    """True while `user` may still act on `org` the way they did when they started
    something that outlives the request (a bulk job): as its own admin when `via_partner`
    is None, else through a delegation from `org` to that partner that is still in force.
    Work started through one road does not carry on through another: its audit rows name
    the road it started on."""
    if user is None or not user.is_active:
        return False
    if via_partner is None:
        return org.id in own_admin_org_ids(user)
    partner = delegated_org_ids(user).get(org.id)
    return partner is not None and partner.pk == getattr(via_partner, "pk", via_partner)


def partner_delegation_active(*, customer_id, partner_id) -> bool:
    """Whether `partner` may still act for `customer` (its credentials included)."""
    return Delegation.objects.active().filter(customer_id=customer_id,
                                              partner_id=partner_id).exists()
