"""Every id on a page is unique, also on a page that shows errors: a field's error list
carries the id its input's aria-describedby names (Django adds both), so a second element
with that id would make assistive technology (and `#id` selectors) find the wrong one."""

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.pages.test_views import form_data


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = Counter()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids[value] += 1


def duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(value for value, n in parser.ids.items() if n > 1)


# Errors on the plain fields, the time window's period fields and simultaneous ring.
BAD = {
    "always_enabled": True, "always_destination": "",
    "busy_enabled": True, "busy_destination": "not a number",
    "window_enabled": True, "window_start": "", "window_end": "",
    "simring_enabled": True, "simring_targets": "",
}


@pytest.mark.django_db
def test_my_forwarding_with_errors_has_unique_ids(client, member, mia):
    client.force_login(member)
    response = client.post(reverse("my_forwarding"), form_data(mia, **BAD))
    assert response.status_code == 400
    html = response.content.decode()
    # The input names its error list, and exactly one element carries that id.
    assert re.search(r'aria-describedby="[^"]*\bid_always_destination_error\b', html)
    assert 'class="errorlist" id="id_always_destination_error"' in html
    assert duplicate_ids(html) == []


@pytest.mark.django_db
def test_the_person_page_with_errors_has_unique_ids(client, admin_user, mia):
    client.force_login(admin_user)
    response = client.post(reverse("person_forwarding", args=[mia.id]), form_data(mia, **BAD))
    assert response.status_code == 400
    assert duplicate_ids(response.content.decode()) == []


@pytest.mark.django_db
def test_the_org_settings_page_has_unique_ids(client, admin_user, org):
    client.force_login(admin_user)
    response = client.get(reverse("org_settings", args=[org.id]))
    assert response.status_code == 200
    assert duplicate_ids(response.content.decode()) == []
