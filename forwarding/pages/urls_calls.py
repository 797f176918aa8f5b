"""Call-time routes (Graph webhook, recent calls, Lync manifest); included at the site
root by portal.urls."""

from django.urls import include, path

from forwarding.pages import calls as calls_views

urlpatterns = [
    path("", include("forwarding.pages.urls_webhooks")),
    path("people/<int:person_id>/calls/", calls_views.person_calls, name="person_calls"),
    path("orgs/<int:org_id>/lync/manifest/", calls_views.lync_manifest, name="lync_manifest"),
]
