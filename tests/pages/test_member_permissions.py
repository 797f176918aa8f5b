"""What members may change themselves, on the pages: the org page where admins choose
(audited, admins only), a member's own page with locked cards read-only and saying whom
to ask, saving that page untouched, a crafted post to a locked field refused next to it,
and the restore preview naming what it leaves as it is."""

import pytest
from django.urls import reverse

from forwarding.models import CallerRule, ForwardingSettings, MemberPermissions
from forwarding.rules import permissions
from portal.audit import Actor
from portal.models import AuditEvent
from tests.cast import audit_count, make_user, update

from .test_views import assert_page_is_clean, form_data

OFFICE = {"name": "Office hours", "kind": "business_hours",
          "hours": {"monday": [["09:00", "17:00"]]}}
RULE = {"callers": ["+13035550110"], "destination": "+13035550177"}


@pytest.fixture
def ada(org, admin_user):
    admin_user.first_name, admin_user.last_name = "Ada", "Admin"
    admin_user.save(update_fields=["first_name", "last_name"])
    return admin_user


def lock(org, *features, by):
    permissions.member_permissions_update(org=org, locked=list(features),
                                          actor=Actor.for_user(by))


def sentence(org, phrase):
    return (f"Your admins set {phrase} for {org.name}; ask Ada Admin or another admin of "
            f"{org.name}.")


def card(html, feature):
    start = html.index(f'id="section-{feature}"')
    return html[html.rindex("<", 0, start):html.index("</fieldset>", start)]


@pytest.mark.django_db
class TestMemberPage:
    def test_locked_cards_are_disabled_and_say_whom_to_ask(self, client, org, ada, member,
                                                           mia):
        lock(org, "busy", by=ada)
        client.force_login(member)
        response = client.get(reverse("my_forwarding"))
        assert response.status_code == 200
        html = response.content.decode()
        busy = card(html, "busy")
        assert " disabled" in busy.split(">", 1)[0]
        assert sentence(org, "call forwarding when busy") in busy
        assert 'aria-describedby="locked-busy"' in busy
        always = card(html, "always")
        assert " disabled" not in always.split(">", 1)[0] and "Your admins" not in always
        assert_page_is_clean(response)

    def test_the_admin_sees_the_members_page_editable(self, client, org, ada, mia):
        lock(org, "busy", by=ada)
        client.force_login(ada)
        html = client.get(reverse("person_forwarding", args=[mia.id])).content.decode()
        assert " disabled" not in card(html, "busy").split(">", 1)[0]
        assert "Your admins set" not in html

    def test_posting_the_page_with_the_locked_card_untouched_saves(self, client, org, ada,
                                                                   member, mia):
        update(mia, actor=Actor.for_user(ada), busy_enabled=True, busy_destination="2009",
               no_answer_enabled=True, no_answer_destination="2010")
        lock(org, "busy", "no_answer", by=ada)
        client.force_login(member)
        # The browser posts no field of a disabled card.
        response = client.post(reverse("my_forwarding"), form_data(mia, dnd_enabled=True))
        assert response.status_code == 302
        row = ForwardingSettings.objects.get(person=mia)
        assert row.dnd_enabled and row.version == 3
        assert (row.busy_enabled, row.busy_destination) == (True, "2009")
        assert (row.no_answer_enabled, row.no_answer_destination,
                row.no_answer_ring_after) == (True, "2010", 3)

    def test_posting_it_with_nothing_changed_says_so(self, client, org, ada, member, mia):
        update(mia, actor=Actor.for_user(ada), busy_enabled=True, busy_destination="2009")
        lock(org, "busy", by=ada)
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(mia), follow=True)
        assert "Nothing changed" in response.content.decode()
        assert ForwardingSettings.objects.get(person=mia).busy_enabled

    def test_a_crafted_post_to_a_locked_field_is_refused_next_to_it(self, client, org, ada,
                                                                    member, mia):
        update(mia, actor=Actor.for_user(ada), busy_enabled=True, busy_destination="2009")
        lock(org, "busy", by=ada)
        version, events = ForwardingSettings.objects.get(person=mia).version, audit_count()
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(
            mia, busy_enabled=True, busy_destination="2010", dnd_enabled=True))
        assert response.status_code == 400
        html = response.content.decode()
        errors = html[html.index('id="id_busy_destination_error"'):]
        assert errors.index(sentence(org, "call forwarding when busy")) < errors.index("</div>")
        row = ForwardingSettings.objects.get(person=mia)
        assert (row.version, row.busy_destination, row.dnd_enabled) == (version, "2009", False)
        assert audit_count() == events
        # The locked card shows what is posted (what was refused), still disabled.
        assert 'value="2010"' in card(html, "busy")

    def test_another_error_keeps_the_locked_card_showing_the_stored_values(
            self, client, org, ada, member, mia):
        update(mia, actor=Actor.for_user(ada), busy_enabled=True, busy_destination="2009")
        lock(org, "busy", by=ada)
        client.force_login(member)
        response = client.post(reverse("my_forwarding"), form_data(
            mia, always_enabled=True, always_destination=""))
        assert response.status_code == 400
        busy = card(response.content.decode(), "busy")
        assert 'value="2009"' in busy and "checked" in busy

    def test_locked_schedules_and_rules_are_read_only_cards(self, client, org, ada, member,
                                                            mia):
        update(mia, actor=Actor.for_user(ada), schedules=[OFFICE], rules=[RULE])
        lock(org, "schedules", "caller_rules", by=ada)
        client.force_login(member)
        html = client.get(reverse("my_forwarding")).content.decode()
        assert 'name="sched-TOTAL"' not in html
        assert 'name="caller_rules-TOTAL_FORMS"' not in html
        assert sentence(org, "the schedules (business hours and holidays)") in html
        assert sentence(org, "the rules per caller") in html
        # The page as the browser posts it (no rules, no schedules) saves another change.
        data = {k: v for k, v in form_data(mia, dnd_enabled=True).items()
                if not k.startswith("caller_rules-")}
        assert client.post(reverse("my_forwarding"), data).status_code == 302
        row = ForwardingSettings.objects.get(person=mia)
        assert row.dnd_enabled and row.schedules and row.caller_rules.count() == 1

    def test_a_crafted_rules_post_is_refused_on_the_rules_card(self, client, org, ada,
                                                              member, mia):
        lock(org, "caller_rules", by=ada)
        client.force_login(member)
        data = form_data(mia)
        data.update({"caller_rules-TOTAL_FORMS": "1",
                     "caller_rules-0-callers": "+1 303 555 0110",
                     "caller_rules-0-destination": "+1 303 555 0111"})
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 400
        html = response.content.decode()
        rules_card = html[html.index('id="section-caller_rules"'):]
        assert sentence(org, "the rules per caller") in rules_card[:rules_card.index(
            "</section>")]
        assert not CallerRule.objects.filter(settings__person=mia).exists()

    def test_a_member_with_unlocked_rules_and_locked_schedules_keeps_rule_schedules(
            self, client, org, ada, member, mia):
        # The rules card offers the stored schedules even though the Schedules card is not
        # posted (it is read-only for this member).
        update(mia, actor=Actor.for_user(ada), schedules=[OFFICE],
               rules=[{**RULE, "schedule": "Office hours", "schedule_when": "during"}])
        lock(org, "schedules", by=ada)
        client.force_login(member)
        data = form_data(mia, dnd_enabled=True)
        data.update({"caller_rules-TOTAL_FORMS": "1", "caller_rules-INITIAL_FORMS": "1",
                     "caller_rules-0-callers": "+13035550110",
                     "caller_rules-0-destination": "+13035550177",
                     "caller_rules-0-disposition": "forward",
                     "caller_rules-0-schedule": "during:Office hours",
                     "caller_rules-0-ORDER": "1"})
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        row = ForwardingSettings.objects.get(person=mia)
        assert row.dnd_enabled and row.caller_rules.get().schedule == "Office hours"

    def test_the_restore_preview_says_what_it_leaves(self, client, org, ada, member, mia):
        update(mia, actor=Actor.for_user(member), busy_enabled=True, busy_destination="2009",
               dnd_enabled=True)
        event = AuditEvent.objects.filter(person=mia, event="forwarding.updated").latest("id")
        update(mia, actor=Actor.for_user(ada), busy_destination="2010", dnd_enabled=False)
        lock(org, "busy", by=ada)
        client.force_login(member)
        html = client.get(reverse("person_restore", args=[mia.id]),
                          {"event": event.id}).content.decode()
        assert 'id="restore-locked"' in html
        assert sentence(org, "call forwarding when busy") in html
        row = ForwardingSettings.objects.get(person=mia)
        response = client.post(reverse("person_restore", args=[mia.id]),
                               {"event": event.id, "version": row.version})
        assert response.status_code == 302
        row.refresh_from_db()
        assert row.dnd_enabled and row.busy_destination == "2010"


@pytest.mark.django_db
class TestOrgPage:
    def test_the_settings_page_links_to_it(self, client, org, ada):
        client.force_login(ada)
        html = client.get(reverse("org_settings", args=[org.id])).content.decode()
        assert reverse("org_member_permissions", args=[org.id]) in html

    def test_an_admin_unticks_a_feature_and_it_is_audited(self, client, org, ada):
        client.force_login(ada)
        page = client.get(reverse("org_member_permissions", args=[org.id]))
        assert page.status_code == 200
        html = page.content.decode()
        assert html.count('type="checkbox"') == 9 and html.count("checked") == 9
        assert '<label for="id_allowed_0">Always forward</label>' in html
        allowed = ["always", "no_answer", "continuity", "simring", "caller_rules",
                   "time_window", "schedules", "dnd"]
        response = client.post(reverse("org_member_permissions", args=[org.id]),
                               {"allowed": allowed})
        assert response.status_code == 302
        assert MemberPermissions.objects.get(org=org).locked == ["busy"]
        event = AuditEvent.objects.get(event="org.member_permissions_updated")
        assert (event.actor, event.org, event.new) == (ada, org, {"locked": ["busy"]})
        html = client.get(reverse("org_member_permissions", args=[org.id])).content.decode()
        assert html.count("checked") == 8 and "Last changed by" in html

    def test_a_partner_acting_for_the_org_may_set_them(self, client, org, partner_org,
                                                       partner_admin, delegation):
        client.force_login(partner_admin)
        response = client.post(reverse("org_member_permissions", args=[org.id]),
                               {"allowed": ["always"]})
        assert response.status_code == 302
        event = AuditEvent.objects.get(event="org.member_permissions_updated")
        assert event.via_partner == partner_org
        assert "dnd" in MemberPermissions.objects.get(org=org).locked

    def test_a_bad_value_is_refused_next_to_the_field(self, client, org, ada):
        client.force_login(ada)
        response = client.post(reverse("org_member_permissions", args=[org.id]),
                               {"allowed": ["always", "teleport"]})
        assert response.status_code == 400
        assert "teleport is not one of the available choices" in response.content.decode()
        assert not MemberPermissions.objects.exists() and audit_count() == 0

    def test_members_and_strangers_get_404(self, client, org, member, other_org):
        client.force_login(member)
        url = reverse("org_member_permissions", args=[org.id])
        assert client.get(url).status_code == 404
        assert client.post(url, {"allowed": []}).status_code == 404
        client.force_login(make_user(org=other_org, role="admin", mfa=True))
        assert client.get(url).status_code == 404
        assert not MemberPermissions.objects.exists()

    def test_saving_needs_totp(self, client, org):
        admin = make_user(org=org, role="admin")
        client.force_login(admin)
        url = reverse("org_member_permissions", args=[org.id])
        assert client.get(url).status_code == 200
        response = client.post(url, {"allowed": []})
        assert response.status_code == 302 and "totp" in response["Location"]
        assert not MemberPermissions.objects.exists()
