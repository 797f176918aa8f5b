"""Call-time routes (Graph webhook, recent calls, Lync manifest); included at the site
root by portal.urls."""

from django.urls import path

from forwarding.pages import calls as calls_views

urlpatterns = [
    path("webhooks/graph/<str:key>/", calls_views.graph_webhook, name="graph_webhook"),
    path("people/<int:person_id>/calls/", calls_views.person_calls, name="person_calls"),
    path("orgs/<int:org_id>/lync/manifest/", calls_views.lync_manifest, name="lync_manifest"),
]
