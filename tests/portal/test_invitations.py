"""Invitation links never replace sign-in: a new address chooses a password, an existing
account signs in normally (password, then TOTP) and then accepts, and addresses match
exactly after the one normalization of portal.emails (never by database case-folding)."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.cache import cache
from django.urls import reverse

from portal import audit, services
from portal.emails import AsciiLower, normalize_email
from portal.models import AuditEvent, Invitation, Membership, User
from tests.cast import make_org, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse 9"
SECRET = "JBSWY3DPEHPK3PXP"  # the one tests.conftest.enable_totp stores


@pytest.fixture(autouse=True)
def _clear_cache():
    # allauth's login rate limits live in the real cache.
    cache.clear()
    yield
    cache.clear()


def _invite(org, email, *, role=Membership.MEMBER):
    inviter = make_user(org=org, role=Membership.ADMIN, mfa=True)
    _invitation, token = services.invitation_create(
        org=org, email=email, role=role, actor=audit.Actor.for_user(inviter))
    return reverse("invitation_accept", args=[token])


def _signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def _totp_now():
    return format_hotp_value(hotp_value(SECRET, int(time.time()) // 30))


def test_invitation_of_another_orgs_admin_does_not_sign_anybody_in(client):
    """The reproduction: org B's admin invites org A's admin; the link holder is not
    signed into A's admin account, whatever password they type."""
    org_a, org_b = make_org(), make_org()
    victim = make_user("boss@acme.example", org=org_a, role=Membership.ADMIN, mfa=True)
    url = _invite(org_b, "boss@acme.example")

    page = client.get(url)
    assert page.status_code == 200
    assert b"Sign in to accept" in page.content
    assert reverse("account_login").encode() in page.content
    response = client.post(url, {"password1": "Attacker-chosen-1", "password2":
                                 "Attacker-chosen-1"})
    assert response.status_code == 200
    assert _signed_in_user_id(client) is None
    assert client.get(reverse("org_people", args=[org_a.id])).status_code == 302  # to sign in
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)
    assert not Membership.objects.filter(user=victim, org=org_b).exists()
    assert Invitation.objects.get(org=org_b).accepted_at is None
    assert not AuditEvent.objects.filter(event="invitation.accepted").exists()


def test_invitation_of_a_staff_address_does_not_open_django_admin(client):
    org = make_org()
    staff = make_user("ops@portal.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    url = _invite(org, "OPS@portal.example")
    client.post(url, {"password1": "Attacker-chosen-1", "password2": "Attacker-chosen-1"})
    assert _signed_in_user_id(client) is None
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.get(response["Location"])["Location"].startswith(reverse("account_login"))
    assert not Membership.objects.filter(user=staff).exists()


def test_a_new_address_still_chooses_a_password_and_joins(client):
    org = make_org()
    url = _invite(org, "  Newcomer@Example.COM ", role=Membership.ADMIN)
    page = client.get(url)
    assert page.status_code == 200
    assert b"Set password and sign in" in page.content
    response = client.post(url, {"password1": "a-Good-passw0rd", "password2": "a-Good-passw0rd"})
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.com")
    assert _signed_in_user_id(client) == str(user.pk)
    assert Membership.objects.get(user=user, org=org).role == Membership.ADMIN
    assert user.emailaddress_set.get().verified


def test_an_existing_account_signs_in_with_password_and_totp_then_accepts(client):
    home, inviting = make_org(), make_org()
    user = make_user("dana@example.com", org=home, role=Membership.ADMIN, mfa=True)
    url = _invite(inviting, "Dana@Example.com", role=Membership.ADMIN)

    page = client.get(url)
    login_link = f"{reverse('account_login')}?next={url}"
    assert login_link.encode() in page.content

    response = client.post(reverse("account_login"),
                           {"login": "dana@example.com", "password": PASSWORD, "next": url})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_authenticate"))
    assert _signed_in_user_id(client) is None  # the password alone is not enough
    # Without TOTP the invitation is not accepted either.
    client.post(url)
    assert Invitation.objects.get(org=inviting).accepted_at is None

    response = client.post(reverse("mfa_authenticate"), {"code": _totp_now()})
    assert response.status_code == 302
    assert response["Location"] == url
    assert _signed_in_user_id(client) == str(user.pk)

    page = client.get(url)
    assert page.status_code == 200
    assert b"Accept the invitation" in page.content
    assert not Membership.objects.filter(user=user, org=inviting).exists()  # GET writes nothing
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.get(user=user, org=inviting).role == Membership.ADMIN
    event = AuditEvent.objects.get(event="invitation.accepted")
    assert (event.org, event.actor, event.new) == (
        inviting, user, {"email": "dana@example.com", "role": "admin"})
    assert client.get(url).status_code == 404  # used


def test_an_existing_account_without_totp_accepts_after_its_password(client):
    org = make_org()
    user = make_user("erin@example.com")
    url = _invite(org, "erin@example.com")
    client.post(reverse("account_login"),
                {"login": "erin@example.com", "password": PASSWORD, "next": url})
    assert _signed_in_user_id(client) == str(user.pk)
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(user=user, org=org).exists()


def test_signed_in_as_another_address_gets_a_clear_page_and_changes_nothing(client):
    org = make_org()
    make_user("frank@example.com")
    other = make_user("grace@example.com", mfa=True)
    for url in (_invite(org, "frank@example.com"), _invite(org, "nobody-yet@example.com")):
        client.force_login(other)
        page = client.get(url)
        assert page.status_code == 403
        assert b"This invitation is for another address" in page.content
        response = client.post(url, {"password1": "a-Good-passw0rd",
                                     "password2": "a-Good-passw0rd"})
        assert response.status_code == 403
        assert _signed_in_user_id(client) == str(other.pk)
    assert not Membership.objects.filter(org=org, user=other).exists()
    assert not User.objects.filter(email="nobody-yet@example.com").exists()
    assert not Invitation.objects.filter(org=org, accepted_at__isnull=False).exists()


@pytest.mark.parametrize("account, invited", [
    ("kate@example.com", "\u212ate@example.com"),  # Kelvin sign: Python lower() gives "k"
    ("strasse@example.com", "stra\u00dfe@example.com"),  # ß: upper() is "SS"
    ("tim@example.com", "t\u0131m@example.com"),  # dotless ı: upper() is "I"
    ("boss@example.com", "bo\u017fs@example.com"),  # long s: upper() is "S"
])
def test_addresses_differing_by_a_unicode_case_mapping_never_match(client, account, invited):
    org, later_org = make_org(), make_org()
    user = make_user(account, org=make_org(), role=Membership.ADMIN)
    url = _invite(org, invited)
    assert Invitation.objects.get(org=org).email == invited  # not folded to the account's
    # The link holder gets an account of the invited (different) address, never the
    # look-alike existing one.
    client.post(url, {"password1": "a-Good-passw0rd", "password2": "a-Good-passw0rd"})
    assert _signed_in_user_id(client) != str(user.pk)
    assert not Membership.objects.filter(user=user, org=org).exists()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # And the owner of the look-alike account, signed in, cannot accept an invitation of
    # the other address.
    later = _invite(later_org, invited)
    client.force_login(user)
    assert client.post(later).status_code == 403
    assert not Membership.objects.filter(user=user, org=later_org).exists()


def test_normalization_is_the_same_in_python_and_in_the_database():
    samples = ["Plain@Example.COM", "\u212aelvin@x.example", "STRA\u00dfE@x.example",
               "\u0130stanbul@x.example", "ok@x.example"]
    ids = [make_user(address).pk for address in samples]
    stored = dict(User.objects.filter(pk__in=ids).annotate(
        key=AsciiLower("email")).values_list("email", "key"))
    assert len(stored) == len(samples)
    assert stored == {email: normalize_email(email) for email in stored}
    assert normalize_email(" Plain@Example.COM ") == "plain@example.com"
    assert normalize_email("\u212a@x") == "\u212a@x"


def test_an_account_created_after_the_invitation_is_not_taken_over(client):
    org = make_org()
    url = _invite(org, "late@example.com")
    client.get(url)  # the set-password page, for now
    make_user("Late@Example.com")
    response = client.post(url, {"password1": "a-Good-passw0rd", "password2": "a-Good-passw0rd"})
    assert response.status_code == 200
    assert _signed_in_user_id(client) is None
    assert User.objects.alias(key=AsciiLower("email")).filter(
        key="late@example.com").count() == 1
    # The service refuses too, whoever calls it.
    with pytest.raises(Exception) as exc:
        services.invitation_accept(invitation=Invitation.objects.get(org=org),
                                   password="a-Good-passw0rd")
    assert "already exists" in str(exc.value)


def test_inviting_an_existing_member_again_is_refused_exactly(org):
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    make_user("Member@Example.com", org=org, role=Membership.MEMBER)
    with pytest.raises(Exception) as exc:
        services.invitation_create(org=org, email="member@example.COM", role="member",
                                   actor=audit.Actor.for_user(admin))
    assert "already a member" in str(exc.value)
    # A look-alike address is a different person.
    services.invitation_create(org=org, email="m\u0435mber@example.com", role="member",
                               actor=audit.Actor.for_user(admin))
