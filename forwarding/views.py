"""Forwarding pages (being built: see issue 3)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from portal import access
from portal.models import Organization


@login_required
def my_forwarding(request):
    person = request.user.people.select_related("org").first()
    if person is None:
        raise Http404("Your account is not linked to a line")
    return render(request, "forwarding/person.html", {"person": person})


@login_required
def org_people(request, org_id):
    org = get_object_or_404(Organization, pk=org_id)
    via = access.partner_for(request.user, org)
    people = org.people.all()[:50]
    return render(request, "forwarding/people.html",
                  {"org": org, "via_partner": via, "people": people})
