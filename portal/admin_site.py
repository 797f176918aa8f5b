"""Django admin behind the portal's own rules: only active staff with TOTP turned on.

Staff can change any tenant, so they need at least what an org admin needs before
changing someone else's settings. A staff member without TOTP is sent to set it up
instead of getting the admin's "not authorized" login form."""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse

from portal import access


class PortalAdminSite(admin.AdminSite):
    site_header = "Call forwarding portal administration"

    def has_permission(self, request):
        return super().has_permission(request) and not access.needs_mfa(request.user)

    def login(self, request, extra_context=None):
        # Every admin view sends a user without permission here.
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff \
                and access.needs_mfa(user):
            messages.warning(request, "Turn on two-factor authentication (an authenticator "
                                      "app) before using the administration site.")
            query = urlencode({"next": reverse("admin:index")})
            return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return super().login(request, extra_context)
