from django.urls import path

from forwarding import views_sync

urlpatterns = [
    path("people/<int:person_id>/sync/retry/", views_sync.retry_now, name="sync_retry"),
    path("people/<int:person_id>/sync/check/", views_sync.check_now, name="sync_check"),
    path("people/<int:person_id>/sync/drift/", views_sync.drift_resolve, name="drift_resolve"),
]
