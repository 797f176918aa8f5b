"""Forwarding pages; included at the site root by portal.urls."""

from django.urls import path

from forwarding import views

urlpatterns = [
    path("me/", views.my_forwarding, name="my_forwarding"),
    path("orgs/<int:org_id>/people/", views.org_people, name="org_people"),
    path("orgs/<int:org_id>/audit/", views.org_audit, name="org_audit"),
    path("people/<int:person_id>/", views.person_forwarding, name="person_forwarding"),
    path("people/<int:person_id>/history/", views.person_history, name="person_history"),
    path("people/<int:person_id>/restore/", views.person_restore, name="person_restore"),
    path("people/<int:person_id>/test/", views.person_test, name="person_test"),
]
