"""django.contrib.admin with the portal's admin site as the default one, so every app's
registrations land on a site that requires TOTP (portal.admin_site)."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PortalAdminSite"
