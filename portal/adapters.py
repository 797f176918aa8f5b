"""allauth adjustments: public sign-up is closed (people join by invitation); the client's
address comes from the portal's one resolver."""

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from portal.clientip import client_ip


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
