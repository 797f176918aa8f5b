from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path

from forwarding.api.docs import ApiDocsView, ApiSchemaView
from portal import connection_views, event_views, views

# Django admin uses the portal's own sign-in (with its rate limits and MFA).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("orgs/<int:org_id>/settings/", views.org_settings, name="org_settings"),
    path("orgs/<int:org_id>/invite/", views.org_invite, name="org_invite"),
    path("orgs/<int:org_id>/time-zone/", views.org_time_zone, name="org_time_zone"),
    path("orgs/<int:org_id>/delegations/", views.delegation_grant, name="delegation_grant"),
    path("orgs/<int:org_id>/delegations/<int:delegation_id>/revoke/",
         views.delegation_revoke, name="delegation_revoke"),
    path("orgs/<int:org_id>/members/<int:membership_id>/remove/", views.member_remove,
         name="member_remove"),
    path("orgs/<int:org_id>/people/<int:person_id>/unlink/", views.person_unlink,
         name="person_unlink"),
    path("orgs/<int:org_id>/webhook-key/rotate/", views.webhook_key_rotate,
         name="webhook_key_rotate"),
    path("orgs/<int:org_id>/connection/", connection_views.connection, name="connection"),
    path("orgs/<int:org_id>/connection/webex/", connection_views.webex_start,
         name="connection_webex_start"),
    path("orgs/<int:org_id>/connection/microsoft/", connection_views.microsoft_start,
         name="connection_microsoft_start"),
    path("orgs/<int:org_id>/connection/ucwa/", connection_views.ucwa_connect,
         name="connection_ucwa"),
    path("orgs/<int:org_id>/connection/disconnect/", connection_views.disconnect,
         name="connection_disconnect"),
    path("orgs/<int:org_id>/events/", event_views.org_events, name="org_events"),
    path("orgs/<int:org_id>/events/<int:endpoint_id>/", event_views.event_endpoint,
         name="event_endpoint"),
    path("orgs/<int:org_id>/events/<int:endpoint_id>/rotate/", event_views.event_endpoint_rotate,
         name="event_endpoint_rotate"),
    path("orgs/<int:org_id>/events/<int:endpoint_id>/enable/", event_views.event_endpoint_enable,
         name="event_endpoint_enable"),
    path("orgs/<int:org_id>/events/<int:endpoint_id>/test/", event_views.event_endpoint_test,
         name="event_endpoint_test"),
    path("orgs/<int:org_id>/events/<int:endpoint_id>/delete/", event_views.event_endpoint_delete,
         name="event_endpoint_delete"),
    # The one redirect URI per provider registered for the deployment (PUBLIC_URL + path).
    path("connection/webex/callback", connection_views.webex_callback,
         name="connection_webex_callback"),
    path("connection/microsoft/callback", connection_views.microsoft_callback,
         name="connection_microsoft_callback"),
    path("api/v1/", include("forwarding.api.urls")),
    path("api/schema/", ApiSchemaView.as_view(), name="api_schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    # Last under /api/: anything else there answers the API's JSON 404.
    re_path(r"^api/", views.api_not_found, name="api_not_found"),
    path("", include("forwarding.pages.urls")),
    path("", include("forwarding.pages.urls_sync")),
    path("", include("forwarding.pages.urls_calls")),
    path("", include("forwarding.pages.urls_permissions")),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
