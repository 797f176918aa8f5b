"""Provider webhooks: served by portal.middleware.LeanPathMiddleware straight from this
URLconf (settings.LEAN_URLCONF), without sessions, CSRF, authentication or messages, and
included in the site's own URLconf (portal.urls, through urls_calls) for reverse()."""

from django.urls import path

from forwarding.pages import calls as calls_views

urlpatterns = [
    path("webhooks/graph/<str:key>/", calls_views.graph_webhook, name="graph_webhook"),
]
