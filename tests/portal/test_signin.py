"""Sign-in: closed sign-up, invitations, login rate limits, Django admin behind sign-in."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from portal.models import AuditEvent, Membership, User
from tests.cast import make_person, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the real cache (Redis in tests): start each test clean.
    cache.clear()
    yield
    cache.clear()


def test_public_signup_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    client.post(reverse("account_signup"), {
        "email": "intruder@example.com", "password1": "Zx9!long-pass", "password2": "Zx9!long-pass"
    })
    assert not User.objects.filter(email="intruder@example.com").exists()


def test_login_with_email_and_password(client, org):
    user = make_user("alice@example.com", org=org, role="member", password="s3cret-Pass-word")
    response = client.post(reverse("account_login"),
                           {"login": "alice@example.com", "password": "s3cret-Pass-word"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_repeated_failed_logins_are_rate_limited(client, org):
    make_user("bob@example.com", org=org, role="member", password="right-Password-1")
    limited = b"Too many failed login attempts"
    for _ in range(5):
        response = client.post(reverse("account_login"),
                               {"login": "bob@example.com", "password": "wrong"})
        assert response.status_code == 200
        assert limited not in response.content
        assert b"password you specified are not correct" in response.content
    response = client.post(reverse("account_login"),
                           {"login": "bob@example.com", "password": "wrong"})
    assert limited in response.content
    # Even the right password is refused while the limit holds.
    response = client.post(reverse("account_login"),
                           {"login": "bob@example.com", "password": "right-Password-1"})
    assert limited in response.content
    assert "_auth_user_id" not in client.session


def test_invitation_lets_a_person_set_a_password_and_join(
    client, org, django_capture_on_commit_callbacks
):
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    person = make_person(org)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("org_invite", args=[org.id]),
                               {"email": "New.Person@Example.com", "role": "member"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/invitations/(\S+)/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    token = link.group(1)
    invitation = org.invitations.get()
    invitation.person = person
    invitation.save(update_fields=["person"])

    client.logout()
    url = reverse("invitation_accept", args=[token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"password1": "short", "password2": "short"})
    assert response.status_code == 200
    assert b"too short" in response.content
    response = client.post(url, {"password1": "a-Good-passw0rd", "password2": "a-Good-passw0rd"})
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert Membership.objects.get(user=user, org=org).role == "member"
    person.refresh_from_db()
    assert person.user == user
    assert AuditEvent.objects.filter(event="invitation.accepted", actor=user).count() == 1
    # The link works once.
    client.logout()
    assert client.get(url).status_code == 404


def test_django_admin_sits_behind_the_portal_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302 or login.request["PATH_INFO"] == "/admin/login/"
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_reaches_django_admin(client):
    staff = make_user("staff@example.com", mfa=True)  # without TOTP: tests/portal/test_admin
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_password_reset_sends_a_link_that_sets_a_new_password(client, org):
    make_user("carol@example.com", org=org, role="member", password="old-Password-1")
    response = client.post(reverse("account_reset_password"), {"email": "carol@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = link.group(0).split("testserver", 1)[-1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
                           {"password1": "new-Password-2", "password2": "new-Password-2"})
    assert response.status_code == 302
    assert User.objects.get(email="carol@example.com").check_password("new-Password-2")


def test_unverified_email_cannot_sign_in(client, org):
    from allauth.account.models import EmailAddress

    make_user("dave@example.com", org=org, role="member", password="right-Password-1")
    EmailAddress.objects.filter(email="dave@example.com").update(verified=False)
    response = client.post(reverse("account_login"),
                           {"login": "dave@example.com", "password": "right-Password-1"})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]


def _labels(html):
    return re.findall(r"<label[^>]*>([^<]*)</label>", html)


def test_sign_in_and_two_factor_labels_sit_above_fields_without_a_colon(client, org):
    """allauth's forms go through the portal's field partial: "Email", not "Email:"."""
    html = client.get(reverse("account_login")).content.decode()
    labels = _labels(html)
    assert "Password" in labels and labels, labels
    assert not [label for label in labels if label.rstrip().endswith(":")], labels

    make_user("tess@example.com", org=org, role="admin", password="s3cret-Pass-word",
              mfa=True)
    response = client.post(reverse("account_login"),
                           {"login": "tess@example.com", "password": "s3cret-Pass-word"})
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    html = client.get(response.url).content.decode()
    assert _labels(html) == ["Authentication code"], _labels(html)
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html


def test_the_favicon_is_served_locally_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    html = client.get(reverse("account_login")).content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in html
    assert re.search(r'<link rel="icon" href="/static/img/favicon[^"]*\.svg"', html)
