from django.urls import path

from forwarding.pages import sync_views

urlpatterns = [
    path("people/<int:person_id>/sync/retry/", sync_views.retry_now, name="sync_retry"),
    path("people/<int:person_id>/sync/check/", sync_views.check_now, name="sync_check"),
    path("people/<int:person_id>/sync/state.json", sync_views.sync_state,
         name="sync_state"),
    path("people/<int:person_id>/sync/drift/", sync_views.drift_resolve, name="drift_resolve"),
]
