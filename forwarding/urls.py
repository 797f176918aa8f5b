from django.urls import path

from forwarding import views

urlpatterns = [
    path("me/", views.my_forwarding, name="my_forwarding"),
    path("orgs/<int:org_id>/people/", views.org_people, name="org_people"),
]
