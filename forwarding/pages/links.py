"""Where a person's forwarding page is, for the user looking at it: "My forwarding" for
their own line, the admin's person page otherwise (one place for pages and redirects)."""

from django.urls import reverse


def person_page_url(request, person):
    if person.user_id == request.user.id:
        return reverse("my_forwarding")
    return reverse("person_forwarding", args=[person.id])
