"""What members may change themselves: the org page (included at the site root)."""

from django.urls import path

from forwarding.pages import member_permissions

urlpatterns = [
    path("orgs/<int:org_id>/member-permissions/", member_permissions.org_member_permissions,
         name="org_member_permissions"),
]
