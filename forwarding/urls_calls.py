"""Call-time routes (Graph webhook, recent calls, Lync manifest); included at the site
root by portal.urls."""

from django.urls import path

from forwarding import webhooks

urlpatterns = [
    path("webhooks/graph/<str:key>/", webhooks.graph_webhook, name="graph_webhook"),
    path("people/<int:person_id>/calls/", webhooks.person_calls, name="person_calls"),
    path("orgs/<int:org_id>/lync/manifest/", webhooks.lync_manifest, name="lync_manifest"),
]
