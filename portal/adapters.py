"""allauth adjustments: public sign-up is closed (people join by invitation); the client's
address comes from the portal's one resolver; an identity provider's account (sign in
with Microsoft or Webex) signs in only as the portal account it vouches for."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from portal import services
from portal.clientip import client_ip
from portal.emails import same_address

REFUSED_TEMPLATE = "socialaccount/refused.html"


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False

    def get_client_ip(self, request):
        # The same address as the audit rows. allauth's own reading of the same count
        # (ALLAUTH_TRUSTED_PROXY_COUNT) raises ImproperlyConfigured, a 500, when a request
        # carries fewer X-Forwarded-For entries than there are proxies; here it falls
        # back to REMOTE_ADDR (portal.clientip).
        ip = client_ip(request)
        if ip is None:
            raise PermissionDenied("Unable to determine client IP address")
        return ip


def _claim_true(value):
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def vouched_email(sociallogin):
    """(address, verified) as the identity provider states them, from the one set of
    claims allauth reads (userinfo when fetched, else the ID token). Verified means
    `email_verified` is true, or for Microsoft `xms_edov` (the tenant owns the address's
    domain): Microsoft's tokens carry no email_verified, and a tenant admin can type any
    address into a user's mail attribute."""
    extra = sociallogin.account.extra_data or {}
    claims = extra.get("userinfo") or extra.get("id_token") or extra
    email = claims.get("email") or ""
    verified = _claim_true(claims.get("email_verified"))
    if sociallogin.account.provider == "microsoft":
        verified = verified or _claim_true(claims.get("xms_edov"))
    return email, verified


def refuse(request, sociallogin, reason, email=""):
    """Stop the sign-in with a page that says why (403), instead of allauth's sign-up
    form or error page."""
    provider = getattr(sociallogin.provider, "name", None) or sociallogin.account.provider
    raise ImmediateHttpResponse(render(request, REFUSED_TEMPLATE, {
        "reason": reason, "email": email, "provider": provider}, status=403))


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Who an identity provider's account signs in as:

    - an account linked before signs in as its user (then allauth's login stages run as
      for a password: TOTP for those who turned it on);
    - otherwise it is linked, once and audited, to the active portal account whose
      address equals the address the provider states *and verifies*, after the portal's
      one normalization (portal.emails); allauth's own matching by email stays off;
    - anyone else gets a page saying why, never a sign-up form: nobody is signed up.
    A signed-in user linking from allauth's connections page obeys the same rule."""

    def is_open_for_signup(self, request, sociallogin):
        return False

    def is_auto_signup_allowed(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        if sociallogin.is_existing:
            return
        email, verified = vouched_email(sociallogin)
        if not email:
            refuse(request, sociallogin, "no_email")
        if not verified:
            refuse(request, sociallogin, "unverified", email)
        connecting = (sociallogin.state.get("process") == AuthProcess.CONNECT
                      and request.user.is_authenticated)
        if connecting:
            user = request.user if same_address(request.user.email, email) else None
            if user is None:
                refuse(request, sociallogin, "other_address", email)
        else:
            user = services.account_for_address(email)
            if user is None or not user.is_active:
                refuse(request, sociallogin, "stranger", email)
        services.identity_link(user=user, sociallogin=sociallogin, request=request,
                               ip=client_ip(request))
