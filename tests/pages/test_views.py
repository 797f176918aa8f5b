"""The forwarding pages: who may open and post what, bad input (400, message next to the
field, nothing changed), stale versions (409), and what each page says."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from portal.models import AuditEvent, Delegation, Membership
from tests.cast import audit_count, make_org, make_person, make_user, person_with_user, update

EMPTY_RULES = {
    "caller_rules-TOTAL_FORMS": "0", "caller_rules-INITIAL_FORMS": "0",
    "caller_rules-MIN_NUM_FORMS": "0", "caller_rules-MAX_NUM_FORMS": "1000",
}


def form_data(person, **fields):
    """What the browser sends for the person's page, starting from the stored values."""
    settings = ForwardingSettings.objects.filter(person=person).first()
    data = {"version": settings.version if settings else 1}
    if person.org.capabilities.supports("caller_rules"):
        data.update(EMPTY_RULES)  # the page always sends the rules' management form
    data.update({k: v for k, v in fields.items() if v is not None})
    for key, value in list(data.items()):
        if value is True:
            data[key] = "on"
        elif value is False:
            del data[key]
    return data


def assert_page_is_clean(response):
    html = response.content.decode()
    assert 'style="' not in html, "inline styles break the CSP"
    # Scripts only from our static files (src=), never inline.
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html), "inline script"


def unchanged(person, version, events):
    settings = ForwardingSettings.objects.filter(person=person).first()
    return (settings.version if settings else 1) == version and audit_count() == events


@pytest.fixture
def stranger(db):
    other = make_org("webex")
    return make_user(org=other, role=Membership.ADMIN, mfa=True)


# --- access ---------------------------------------------------------------------------------


@pytest.mark.django_db
class TestAccess:
    def test_a_member_sees_their_own_forwarding_in_plain_words(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="+1 202 555 0100")
        client.force_login(member)
        response = client.get(reverse("my_forwarding"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Calls go to +1 202 555 0100 when you are busy." in html
        assert 'name="version" value="2"' in html
        assert_page_is_clean(response)

    def test_a_user_without_a_line_gets_404_on_my_forwarding(self, client, admin_user):
        client.force_login(admin_user)
        assert client.get(reverse("my_forwarding")).status_code == 404

    @pytest.mark.parametrize("name", ["person_forwarding", "person_history", "person_test"])
    def test_a_member_cannot_open_another_persons_pages(self, client, member, org, name):
        other = make_person(org)
        client.force_login(member)
        assert client.get(reverse(name, args=[other.id])).status_code == 404

    def test_a_member_cannot_post_to_another_persons_page(self, client, member, org):
        other = make_person(org)
        update(other, busy_enabled=True, busy_destination="2001")
        events = audit_count()
        client.force_login(member)
        response = client.post(reverse("person_forwarding", args=[other.id]),
                               form_data(other, busy_destination="2009"))
        assert response.status_code == 404
        event = AuditEvent.objects.get(person=other)
        response = client.post(reverse("person_restore", args=[other.id]),
                               {"event": event.id, "version": 2})
        assert response.status_code == 404
        assert unchanged(other, 2, events)
        assert ForwardingSettings.objects.get(person=other).busy_destination == "2001"

    def test_a_member_cannot_restore_another_persons_event_on_their_own_page(
            self, client, member, mia, org):
        other = make_person(org)
        update(other, busy_enabled=True, busy_destination="2001")
        client.force_login(member)
        response = client.post(reverse("person_restore", args=[mia.id]),
                               {"event": AuditEvent.objects.get(person=other).id,
                                "version": 1})
        assert response.status_code == 404

    @pytest.mark.parametrize("name", ["org_people", "org_audit"])
    def test_org_pages_are_404_for_members_and_strangers(self, client, member, stranger, org,
                                                         name):
        for user in (member, stranger):
            client.force_login(user)
            assert client.get(reverse(name, args=[org.id])).status_code == 404

    def test_a_stranger_admin_cannot_open_a_person(self, client, stranger, mia):
        client.force_login(stranger)
        assert client.get(reverse("person_forwarding", args=[mia.id])).status_code == 404

    def test_a_partner_without_delegation_gets_404(self, client, partner_admin, mia, org):
        client.force_login(partner_admin)
        assert client.get(reverse("person_forwarding", args=[mia.id])).status_code == 404
        assert client.get(reverse("org_people", args=[org.id])).status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, mia):
        response = client.get(reverse("person_forwarding", args=[mia.id]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- changing settings ----------------------------------------------------------------------


@pytest.mark.django_db
class TestChanging:
    def test_a_member_saves_their_forwarding(self, client, member, mia):
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(
            mia, always_enabled=True, always_destination="(202) 555-0188",
            always_ring_reminder=True), REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 302 and response["Location"] == reverse("my_forwarding")
        settings = ForwardingSettings.objects.get(person=mia)
        assert (settings.version, settings.always_destination,
                settings.always_ring_reminder) == (2, "+12025550188", True)
        event = AuditEvent.objects.get(person=mia)
        assert (event.event, event.actor_id, event.ip) == ("forwarding.updated", member.id,
                                                           "203.0.113.9")
        page = client.get(reverse("my_forwarding"))
        assert "Saved as version 2." in page.content.decode()
        assert mail.outbox == []

    def test_an_admin_changes_a_person_and_the_person_is_told(
            self, client, admin_user, member, mia, django_capture_on_commit_callbacks):
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("person_forwarding", args=[mia.id]), form_data(
                mia, busy_enabled=True, busy_destination="2001"))
        assert response.status_code == 302
        assert ForwardingSettings.objects.get(person=mia).busy_destination == "2001"
        assert AuditEvent.objects.get(person=mia).actor_id == admin_user.id
        assert [m.to for m in mail.outbox] == [[member.email]]
        assert admin_user.email in mail.outbox[0].subject

    def test_an_admin_without_mfa_sees_read_only_and_cannot_post(self, client, org, mia):
        admin = make_user(org=org, role=Membership.ADMIN, mfa=False)
        client.force_login(admin)
        page = client.get(reverse("person_forwarding", args=[mia.id]))
        assert page.status_code == 200
        html = page.content.decode()
        assert "turn on two-factor authentication" in html.lower()
        assert 'name="busy_destination"' not in html
        response = client.post(reverse("person_forwarding", args=[mia.id]),
                               form_data(mia, busy_enabled=True, busy_destination="2001"))
        assert response.status_code == 302
        assert reverse("mfa_activate_totp") in response["Location"]
        assert unchanged(mia, 1, 0)

    def test_a_partner_acts_through_the_delegation(self, client, partner_admin, partner_org,
                                                   delegation, mia):
        client.force_login(partner_admin)
        page = client.get(reverse("person_forwarding", args=[mia.id]))
        assert "You act on behalf of partner <strong>Partner Co</strong>" in \
            page.content.decode()
        response = client.post(reverse("person_forwarding", args=[mia.id]),
                               form_data(mia, busy_enabled=True, busy_destination="2001"))
        assert response.status_code == 302
        event = AuditEvent.objects.get(person=mia)
        assert event.via_partner_id == partner_org.id
        assert event.actor_label.endswith("(partner Partner Co)")

    def test_a_revoked_delegation_cuts_access(self, client, partner_admin, delegation, mia):
        Delegation.objects.filter(pk=delegation.pk).update(revoked_at=timezone.now())
        client.force_login(partner_admin)
        response = client.post(reverse("person_forwarding", args=[mia.id]),
                               form_data(mia, busy_enabled=True, busy_destination="2001"))
        assert response.status_code == 404
        assert unchanged(mia, 1, 0)

    def test_a_stale_version_is_a_conflict_that_keeps_the_input(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="2001")  # v2
        update(mia, busy_destination="2002")  # v3: the other tab
        client.force_login(member)
        response = client.post(reverse("my_forwarding"),
                               {**form_data(mia, busy_enabled=True, busy_destination="2009"),
                                "version": 2})
        assert response.status_code == 409
        html = response.content.decode()
        assert "Somebody else changed these settings (now version 3)" in html
        assert "Not saved: the settings changed while you were editing." in html
        assert 'value="2009"' in html  # what they typed is still there
        assert 'name="version" value="3"' in html
        assert "Calls go to extension 2002 when you are busy." in html
        assert unchanged(mia, 3, 2)

    def test_saving_without_changes_says_so(self, client, member, mia):
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(mia), follow=True)
        assert "Nothing changed" in response.content.decode()
        assert unchanged(mia, 1, 0)

    def test_caller_rules_through_the_formset(self, client, graph_org):
        person = person_with_user(graph_org)
        client.force_login(person.user)
        data = {
            **form_data(person),
            "caller_rules-TOTAL_FORMS": "2", "caller_rules-INITIAL_FORMS": "0",
            "caller_rules-MIN_NUM_FORMS": "0", "caller_rules-MAX_NUM_FORMS": "1000",
            "caller_rules-0-callers": "+1 303 555 0110\r\nsip:Boss@contoso.example",
            "caller_rules-0-destination": "+1 303 555 0111",
            "caller_rules-0-disposition": "redirect", "caller_rules-0-mask_caller": "on",
            "caller_rules-0-ORDER": "2",
            "caller_rules-1-match_anonymous": "on", "caller_rules-1-destination": "2003",
            "caller_rules-1-disposition": "forward", "caller_rules-1-ORDER": "1",
        }
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        rules = list(ForwardingSettings.objects.get(person=person).caller_rules.all())
        assert [(r.destination, r.disposition, r.mask_caller) for r in rules] == [
            ("2003", "forward", False), ("+13035550111", "redirect", True)]
        page = client.get(reverse("my_forwarding")).content.decode()
        assert "Rule 2: calls from +1 303 555 0110, sip:boss@contoso.example are redirected" \
            in page
        # Deleting the first rule leaves one.
        data = {
            **form_data(person),
            "caller_rules-TOTAL_FORMS": "2", "caller_rules-INITIAL_FORMS": "2",
            "caller_rules-MIN_NUM_FORMS": "0", "caller_rules-MAX_NUM_FORMS": "1000",
            "caller_rules-0-match_anonymous": "on", "caller_rules-0-destination": "2003",
            "caller_rules-0-ORDER": "1", "caller_rules-0-DELETE": "on",
            "caller_rules-1-callers": "+13035550110", "caller_rules-1-destination": "2004",
            "caller_rules-1-ORDER": "2",
        }
        assert client.post(reverse("my_forwarding"), data).status_code == 302
        assert list(ForwardingSettings.objects.get(person=person).caller_rules
                    .values_list("destination", flat=True)) == ["2004"]


# --- bad input: 400, message next to the field, nothing changed -------------------------------


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"always_enabled": True, "always_destination": "sip:" + "a" * 185 + "@example.com"},
             "always_destination", "limit for Webex Calling); this one has 201"),
            ({"no_answer_enabled": True, "no_answer_destination": "2001",
              "no_answer_ring_after": "21"}, "no_answer_ring_after", "between 2 and 20 rings"),
            ({"no_answer_enabled": True, "no_answer_destination": "2001",
              "no_answer_ring_after": "1"}, "no_answer_ring_after", "between 2 and 20 rings"),
            ({"no_answer_ring_after": "many"}, "no_answer_ring_after", "whole number"),
            ({"busy_enabled": True, "busy_destination": "call me"}, "busy_destination",
             "phone number"),
            ({"busy_enabled": True}, "busy_destination", "Enter where the calls should go"),
            ({"continuity_enabled": True, "continuity_destination": "+12025550100\u202e"},
             "continuity_destination", "control character"),
            ({"window_enabled": True, "window_start": "2020-01-01T08:00",
              "window_end": "2020-01-02T08:00", "window_destination": "2001"},
             "window_end", "already over"),
            ({"window_enabled": True, "window_start": "not a date"}, "window_start",
             "valid date"),
        ],
    )
    def test_bad_input_is_shown_next_to_the_field(self, client, member, mia, fields, field,
                                                  message):
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(mia, **fields))
        assert response.status_code == 400
        html = response.content.decode()
        error = re.search(rf'id="id_{field}_error">(.*?)</div>', html, re.S)
        assert error and message.lower() in error.group(1).lower(), html[:200]
        assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in html or \
            f'aria-describedby="id_{field}_error"' in html
        assert "Nothing was saved." in html
        assert f'<a href="#id_{field}">' in html  # the summary links to the field
        assert unchanged(mia, 1, 0)
        assert_page_is_clean(response)

    def test_own_line_is_refused_next_to_the_field(self, client, member, mia):
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(
            mia, always_enabled=True, always_destination=mia.phone_number))
        assert response.status_code == 400
        assert re.search(r'id="id_always_destination_error">.*own line', response.content
                         .decode(), re.S)

    def test_a_loop_names_the_cycle_next_to_the_field(self, client, member, mia, org):
        bob = make_person(org, name="Bob")
        update(bob, always_enabled=True, always_destination=mia.phone_number)
        events = audit_count()
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(
            mia, always_enabled=True, always_destination=bob.phone_number))
        assert response.status_code == 400
        assert re.search(r'id="id_always_destination_error">.*Mia Member → Bob → Mia Member',
                         response.content.decode(), re.S)
        assert unchanged(mia, 1, events)

    def test_an_unsupported_field_sent_anyway_is_refused_with_the_reason(self, client,
                                                                         ucwa_org):
        person = person_with_user(ucwa_org)
        client.force_login(person.user)
        page = client.get(reverse("my_forwarding")).content.decode()
        assert 'name="busy_enabled"' not in page
        assert "Skype for Business has no separate forwarding when busy." in page
        response = client.post(reverse("my_forwarding"), form_data(
            person, busy_enabled=True, busy_destination="+13035550100"))
        assert response.status_code == 400
        html = response.content.decode()
        assert "Forward calls when the line is busy: Forward when busy is not available: " \
            "Skype for Business has no separate forwarding when busy." in html
        assert unchanged(person, 1, 0)

    def test_caller_rules_sent_to_ucwa_are_refused(self, client, ucwa_org):
        person = person_with_user(ucwa_org)
        client.force_login(person.user)
        data = {**form_data(person), **EMPTY_RULES, "caller_rules-TOTAL_FORMS": "1",
                "caller_rules-0-callers": "+13035550110",
                "caller_rules-0-destination": "+13035550111"}
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 400
        assert "no per-caller rules" in response.content.decode()
        assert unchanged(person, 1, 0)

    def test_a_bad_caller_rule_is_shown_next_to_its_field(self, client, graph_org):
        person = person_with_user(graph_org)
        client.force_login(person.user)
        data = {**form_data(person), **EMPTY_RULES, "caller_rules-TOTAL_FORMS": "2",
                "caller_rules-0-callers": "+13035550110",
                "caller_rules-0-destination": "+13035550111",
                "caller_rules-1-callers": "+13035550112",
                "caller_rules-1-destination": "nowhere"}
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'id="id_caller_rules-1-destination_error">.*phone number', html,
                         re.S)
        assert 'id="id_caller_rules-0-destination_error"' not in html
        assert unchanged(person, 1, 0)

    def test_a_post_without_version_is_refused(self, client, member, mia):
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), {"busy_enabled": "on",
                                                          "busy_destination": "2001"})
        assert response.status_code == 400
        assert "The form was incomplete" in response.content.decode()
        assert unchanged(mia, 1, 0)


# --- what pages show ----------------------------------------------------------------------


@pytest.mark.django_db
class TestPages:
    def test_only_supported_features_are_shown_and_the_rest_explained(self, client, graph_org):
        person = person_with_user(graph_org)
        client.force_login(person.user)
        response = client.get(reverse("my_forwarding"))
        html = response.content.decode()
        assert 'name="simring_targets"' in html and 'name="caller_rules-0-mask_caller"' in html
        assert 'name="busy_enabled"' not in html and 'name="no_answer_ring_after"' not in html
        assert "Teams asks the portal before the line rings, so it cannot know it is busy." \
            in html
        assert_page_is_clean(response)

    def test_sync_state_is_shown_with_its_badge(self, client, member, mia):
        settings = update(mia, busy_enabled=True, busy_destination="2001")
        ForwardingSettings.objects.filter(pk=settings.pk).update(
            sync_status="retrying", last_error="Webex refused: not enabled for calling",
            next_attempt_at=timezone.now() + timedelta(minutes=5))
        client.force_login(member)
        html = client.get(reverse("my_forwarding")).content.decode()
        assert '<span class="badge retrying">Retrying</span>' in html
        assert "Last error: Webex refused: not enabled for calling" in html
        assert "Version 2 is waiting to be delivered" in html

    def test_one_card_per_kind_with_a_switch_and_no_stale_destination_as_if_on(
            self, client, member, mia):
        # Busy on; no-answer was on with a destination, then switched off (kept, unused).
        update(mia, busy_enabled=True, busy_destination="+1 202 555 0177",
               no_answer_enabled=True, no_answer_destination="+1 202 555 0188")
        update(mia, no_answer_enabled=False)
        client.force_login(member)
        html = client.get(reverse("my_forwarding")).content.decode()
        for feature in ("always", "busy", "no_answer", "continuity"):
            assert f'<fieldset id="section-{feature}" class="feature-card' in html
            assert f'aria-controls="body-{feature}"' in html
            assert f'id="body-{feature}"' in html
        # One switch per supported kind of forwarding (the time window too).
        caps = mia.org.capabilities
        switched = [f for f, _label, ok, _reason in caps.features()
                    if ok and f not in ("caller_rules", "schedules")]
        assert html.count('role="switch"') == len(switched) >= 5
        busy = html[html.index('id="section-busy"'):html.index('id="section-no_answer"')]
        no_answer = html[html.index('id="section-no_answer"'):
                         html.index('id="section-continuity"')]
        assert "is-off" not in busy and "data-off-note" not in busy
        assert 'class="feature-card is-off"' in no_answer
        assert "Off: calls do not go here." in no_answer
        assert "+12025550188" in no_answer  # kept in the field, said to be unused
        assert 'class="save-bar"' in html
        assert '<script src="/static/js/person-page.js" defer></script>' in html

    def test_the_test_panel_explains_the_decision(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="+1 202 555 0177")
        client.force_login(member)
        response = client.get(reverse("person_test", args=[mia.id]), {
            "caller": "+1 555 0100", "at": "2026-03-04T21:00", "line_state": "busy"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "If +1 555 0100 calls at Wed 04 Mar 2026 21:00" in html
        assert "The line is busy, so forward-when-busy sends the call to +1 202 555 0177." \
            in html
        # Decided by the card of the person page, in its words, never a rule code.
        assert "<dt>Decided by</dt><dd>Forward when busy</dd>" in html
        assert "<code>" not in html
        assert_page_is_clean(response)

    def test_the_test_panel_speaks_the_page_words_for_no_answer_and_nothing(
            self, client, member, mia):
        update(mia, no_answer_enabled=True, no_answer_destination="+1 202 555 0177")
        client.force_login(member)
        url = reverse("person_test", args=[mia.id])
        html = client.get(url, {"line_state": "no_answer"}).content.decode()
        assert "<dd>Forward when not answered</dd>" in html
        html = client.get(url, {"line_state": "idle"}).content.decode()
        assert "<dd>Nothing: no forwarding applies</dd>" in html
        assert "no_answer<" not in html and ">none<" not in html

    def test_an_offline_phone_without_offline_forwarding_does_not_ring(
            self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="+1 202 555 0177")
        client.force_login(member)
        response = client.get(reverse("person_test", args=[mia.id]),
                              {"line_state": "offline"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "The phone is offline and nothing forwards the call" in html
        assert "<dt>Goes to</dt><dd>Nobody</dd>" in html
        assert "It does not ring anywhere: the phone is offline" in html
        assert "the call rings" not in html and "<dd>Rings" not in html

    def test_the_test_panel_refuses_an_invalid_caller_next_to_the_field(
            self, client, member, mia):
        client.force_login(member)
        response = client.get(reverse("person_test", args=[mia.id]),
                              {"caller": "12ab", "line_state": "busy"})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'id="id_caller_error"' in html
        assert "Enter a phone number, an extension, a sip: URI" in html
        assert 'class="card decision"' not in html

    def test_the_test_panel_time_is_an_iso_datetime_local_input(self, client, member, mia):
        """The browser shows its own picker and always sends ISO ("2026-03-04T21:00"),
        whatever its locale; the value comes back in the same form."""
        client.force_login(member)
        url = reverse("person_test", args=[mia.id])
        field = re.search(r'<input[^>]*name="at"[^>]*>', client.get(url).content.decode())
        assert 'type="datetime-local"' in field.group(0)
        html = client.get(url, {"at": "2026-03-04T21:00", "line_state": "idle"}).content.decode()
        field = re.search(r'<input[^>]*name="at"[^>]*>', html).group(0)
        assert 'type="datetime-local"' in field and 'value="2026-03-04T21:00"' in field
        # A locale's way of writing it is not guessed at.
        response = client.get(url, {"at": "04/03/2026 21:00", "line_state": "idle"})
        assert response.status_code == 400

    def test_the_test_panel_refuses_bad_input(self, client, member, mia):
        client.force_login(member)
        response = client.get(reverse("person_test", args=[mia.id]),
                              {"at": "yesterday", "line_state": "ringing"})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'id="id_at_error"' in html and 'id="id_line_state_error"' in html


@pytest.mark.django_db
class TestPeopleList:
    def test_search_by_name_email_and_number(self, client, admin_user, org, mia):
        make_person(org, name="Bob Builder", email="bob@acme.example", number="+13035550177")
        client.force_login(admin_user)
        url = reverse("org_people", args=[org.id])
        for query, expected in [("bob", "Bob Builder"), ("ACME.example", "Bob Builder"),
                                ("303 555 0177", "Bob Builder"), ("Mia", "Mia Member")]:
            html = client.get(url, {"q": query}).content.decode()
            assert expected in html, query
            assert ("Mia Member" in html) == (expected == "Mia Member"), query

    def test_pagination_by_50(self, client, admin_user, org):
        for n in range(60):
            make_person(org, name=f"Person {n:02d}")
        client.force_login(admin_user)
        url = reverse("org_people", args=[org.id])
        first = client.get(url).content.decode()
        second = client.get(url, {"page": 2}).content.decode()
        assert "Person 49" in first and "Person 50" not in first
        assert "Person 50" in second and "Page 2 of 2" in second

    def test_a_constant_number_of_queries(self, client, admin_user, org,
                                          django_assert_num_queries):
        people = [make_person(org) for _ in range(3)]
        for person in people:
            update(person, busy_enabled=True, busy_destination="2001")
        client.force_login(admin_user)
        url = reverse("org_people", args=[org.id])
        client.get(url)  # warm caches (content types, session)
        # 11: with the admins' connection banner (portal.context_processors), one query,
        # and the viewer's time zone (portal.middleware.TimeZoneMiddleware), one query; the
        # admin's memberships and delegations are read once for the view and the
        # navigation (portal.access.request_scope: 13 before).
        with django_assert_num_queries(11):
            client.get(url)
        for _ in range(20):
            update(make_person(org), busy_enabled=True, busy_destination="2002")
        with django_assert_num_queries(11):
            response = client.get(url)
        assert response.content.decode().count('class="badge pending"') == 23

    def test_partner_sees_the_customer_people_with_the_banner(self, client, partner_admin,
                                                              delegation, org, mia):
        client.force_login(partner_admin)
        html = client.get(reverse("org_people", args=[org.id])).content.decode()
        assert "Mia Member" in html and "You act on behalf of partner" in html

    def test_a_too_long_search_is_bad_input(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.get(reverse("org_people", args=[org.id]), {"q": "x" * 101})
        assert response.status_code == 400
        assert 'id="id_q_error"' in response.content.decode()


# --- history, restore and the org's audit log --------------------------------------------------


@pytest.mark.django_db
class TestHistory:
    def test_history_lists_events_newest_first_and_filters(self, client, member, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        client.force_login(member)
        url = reverse("person_history", args=[mia.id])
        html = client.get(url).content.decode()
        assert html.index("extension 2002 when you are busy") < \
            html.index("extension 2001 when you are busy. (before")
        assert client.get(url, {"event": "forwarding.restored"}).content.decode().count(
            "<tr>") == 2  # header + "No events"
        future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        assert "No events match" in client.get(url, {"since": future}).content.decode()

    def test_bad_filters_are_bad_input(self, client, member, mia):
        client.force_login(member)
        response = client.get(reverse("person_history", args=[mia.id]),
                              {"since": "2026-03-02T08:00", "until": "2026-03-01T08:00"})
        assert response.status_code == 400
        assert 'id="id_until_error"' in response.content.decode()

    def test_an_admin_restores_an_earlier_version(self, client, admin_user, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        v2 = AuditEvent.objects.get(person=mia, new__version=2)
        client.force_login(admin_user)
        history = client.get(reverse("person_history", args=[mia.id])).content.decode()
        assert f'name="event" value="{v2.id}"' in history
        response = client.post(reverse("person_restore", args=[mia.id]),
                               {"event": v2.id, "version": 3}, follow=True)
        assert "Restored the settings of version 2 as the new version 4." in \
            response.content.decode()
        settings = ForwardingSettings.objects.get(person=mia)
        assert (settings.version, settings.busy_destination) == (4, "2001")
        event = AuditEvent.objects.filter(person=mia).first()
        assert (event.event, event.actor_id, event.data["restored_version"]) == (
            "forwarding.restored", admin_user.id, 2)

    def test_restore_shows_what_it_will_change_and_asks_first(self, client, admin_user, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        v2 = AuditEvent.objects.get(person=mia, new__version=2)
        client.force_login(admin_user)
        history = client.get(reverse("person_history", args=[mia.id])).content.decode()
        # History's button leads to the confirmation (a GET form), not to the restore.
        form = history.split(f'name="event" value="{v2.id}"', 1)[0].rsplit("<form", 1)[1]
        assert 'method="get"' in form and "csrfmiddlewaretoken" not in form
        events = AuditEvent.objects.count()
        response = client.get(reverse("person_restore", args=[mia.id]), {"event": v2.id})
        assert response.status_code == 200 and unchanged(mia, 3, 2)
        assert AuditEvent.objects.count() == events
        assert_page_is_clean(response)
        html = response.content.decode()
        assert "Restore version 2 for Mia Member?" in html
        preview = html.split('class="card restore-preview"', 1)[1].split("</section>", 1)[0]
        assert "Forward when busy" in preview
        before, after = preview.split('class="after"', 1)
        assert "Calls go to extension 2002 when Mia Member is busy." in before
        assert "Calls go to extension 2001 when Mia Member is busy." in after
        confirm = html.split('class="confirm"', 1)[1].split("</form>", 1)[0]
        assert 'name="csrfmiddlewaretoken"' in confirm
        assert f'name="event" value="{v2.id}"' in confirm and 'name="version" value="3"' in confirm
        # An event of somebody else, or one without settings, is not found.
        assert client.get(reverse("person_restore", args=[mia.id]),
                          {"event": "x"}).status_code == 404

    def test_restoring_a_version_that_loops_shows_the_warning_and_asks_to_confirm(
            self, client, admin_user, org, mia):
        """Version 2 sent Mia's busy calls to Grace; Grace now always forwards to Mia, so
        bringing version 2 back loops when Mia is busy: named, and confirmed by a tick."""
        grace = make_person(org, name="Grace", number="+12025550177")
        update(mia, busy_enabled=True, busy_destination=grace.phone_number)
        update(mia, busy_enabled=False)
        update(grace, always_enabled=True, always_destination=mia.phone_number)
        v2 = AuditEvent.objects.get(person=mia, new__version=2)
        client.force_login(admin_user)
        url = reverse("person_restore", args=[mia.id])
        warning = "when Mia Member is busy, calls bounce between Mia Member and Grace"

        html = client.get(url, {"event": v2.id}).content.decode()
        assert warning in html.split('id="restore-warnings"', 1)[1].split("</div>", 1)[0]
        confirm = html.split('class="confirm"', 1)[1].split("</form>", 1)[0]
        assert 'name="confirm_loops"' in confirm

        events = audit_count()
        refused = client.post(url, {"event": v2.id, "version": 3})
        assert refused.status_code == 400 and unchanged(mia, 3, events)
        assert "Nothing was restored yet" in refused.content.decode()
        assert warning in refused.content.decode()

        client.post(url, {"event": v2.id, "version": 3, "confirm_loops": "yes"})
        settings = ForwardingSettings.objects.get(person=mia)
        assert (settings.version, settings.busy_enabled) == (4, True)

    def test_a_version_that_cannot_come_back_says_why_and_offers_no_restore(
            self, client, admin_user, org, mia):
        """Version 2 always-forwarded to Grace, who now always forwards to Mia: bringing
        it back would loop for every call, so the page says so instead of a button."""
        grace = make_person(org, name="Grace", number="+12025550178")
        update(mia, always_enabled=True, always_destination=grace.phone_number)
        update(mia, always_enabled=False)
        update(grace, always_enabled=True, always_destination=mia.phone_number)
        v2 = AuditEvent.objects.get(person=mia, new__version=2)
        client.force_login(admin_user)
        html = client.get(reverse("person_restore", args=[mia.id]),
                          {"event": v2.id}).content.decode()
        errors = html.split('id="restore-errors"', 1)[1].split("</div>", 1)[0]
        assert "Always forward: destination: This would make a forwarding loop" in errors
        assert "Yes, restore version 2" not in html and "Back to the history" in html

    def test_a_stale_restore_is_a_conflict(self, client, admin_user, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        v2 = AuditEvent.objects.get(person=mia, new__version=2)
        client.force_login(admin_user)
        response = client.post(reverse("person_restore", args=[mia.id]),
                               {"event": v2.id, "version": 2})
        assert response.status_code == 409
        assert "Somebody else changed these settings (now version 3)" in \
            response.content.decode()
        assert unchanged(mia, 3, 2)

    def test_restore_without_mfa_never_writes(self, client, org, mia):
        update(mia, busy_enabled=True, busy_destination="2001")
        update(mia, busy_destination="2002")
        admin = make_user(org=org, role=Membership.ADMIN, mfa=False)
        client.force_login(admin)
        response = client.post(reverse("person_restore", args=[mia.id]), {
            "event": AuditEvent.objects.get(person=mia, new__version=2).id, "version": 3})
        assert response.status_code == 302
        assert reverse("mfa_activate_totp") in response["Location"]
        assert unchanged(mia, 3, 2)

    def test_org_audit_lists_every_persons_events(self, client, admin_user, org, mia):
        other = make_person(org, name="Olga Other")
        update(mia, busy_enabled=True, busy_destination="2001")
        update(other, always_enabled=True, always_destination="+13035550100")
        client.force_login(admin_user)
        response = client.get(reverse("org_audit", args=[org.id]))
        html = response.content.decode()
        assert html.index("Olga Other") < html.index("Mia Member")
        assert "All calls go to +1 303 555 0100." in html
        assert "Calls go to extension 2001 when Mia Member is busy." in html
        assert_page_is_clean(response)
        filtered = client.get(reverse("org_audit", args=[org.id]),
                              {"event": "forwarding.restored"}).content.decode()
        assert "Olga Other" not in filtered

    def test_org_audit_refuses_bad_filters(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.get(reverse("org_audit", args=[org.id]),
                              {"event": "no.such.event", "since": "soon"})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'id="id_event_error"' in html and 'id="id_since_error"' in html


def test_services_are_the_only_writers():
    # The views module never saves a model itself: every write goes through services.
    import inspect

    from forwarding.pages import views

    source = inspect.getsource(views)
    assert ".save(" not in source and ".objects.create(" not in source
    assert services.forwarding_update.__name__ in source
