"""Issue 16 on the person page: the Schedules card, do not disturb, simultaneous ring's
"press a key" boxes, caller rules for every caller and during / outside a schedule, and
the week at a glance. Errors of the service land next to the field they name."""

from html.parser import HTMLParser

import pytest
from django.http import QueryDict
from django.urls import reverse

from forwarding.models import ForwardingSettings
from forwarding.pages.rule_forms import CallerRuleForm
from forwarding.pages.schedule_forms import ScheduleForms
from portal.models import Membership
from providers.capabilities import capabilities_for
from tests.cast import audit_count, make_org, make_person, make_user, update

from .test_views import assert_page_is_clean

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
OFFICE_HOURS = {"name": "Office hours", "kind": "business_hours",
                "hours": {d: [["09:00", "17:00"]] for d in WEEKDAYS}}


class FormValues(HTMLParser):
    """What a browser would send for the page's forwarding form as it is shown (inputs,
    ticked boxes, selected options, textareas), as a list of pairs."""

    def __init__(self):
        super().__init__()
        self.pairs, self.inside, self._select, self._textarea = [], False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "forwarding-form" in (a.get("class") or ""):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = [a["name"], None, None]
        elif tag == "option" and self._select is not None:
            if self._select[2] is None:
                self._select[2] = a.get("value", "")
            if "selected" in a:
                self._select[1] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            name, chosen, first = self._select
            self.pairs.append((name, chosen if chosen is not None else first))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # The parser hands the leading newline Django writes after <textarea>.
            self.pairs.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def shown_form(html: str, **changes) -> dict:
    """The form as shown, with `changes` ({name: value or list, or None to leave it
    out}); {name: [values]}, which the test client posts as repeated fields."""
    parser = FormValues()
    parser.feed(html)
    data = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    return data


def posted(**fields) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in fields.items():
        query.setlist(name.replace("__", "-"), value if isinstance(value, list) else [value])
    return query


# --- the forms alone -------------------------------------------------------------------


def test_business_hours_are_parsed_into_the_stored_shape():
    data = posted(**{"sched-TOTAL": "1", "sched-0-kind": "business_hours", "sched-0-new": "yes",
                     "sched-0-name": " Office hours ", "sched-0-monday_from_0": "9:00",
                     "sched-0-monday_until_0": "12:00", "sched-0-monday_from_1": "13:00",
                     "sched-0-monday_until_1": "17:30", "sched-0-friday_from_0": "20:00",
                     "sched-0-friday_until_0": "00:00"})
    schedules = ScheduleForms(data, stored=[])
    assert schedules.is_valid(), [f.errors for f in schedules.forms]
    assert schedules.schedules() == [{"name": "Office hours", "kind": "business_hours", "hours": {
        "monday": [["09:00", "12:00"], ["13:00", "17:30"]],
        # A time input cannot say 24:00: until 00:00 is midnight at the end of the day.
        "friday": [["20:00", "24:00"]]}}]


def test_a_period_with_one_time_only_is_an_error_next_to_the_missing_time():
    data = posted(**{"sched-TOTAL": "1", "sched-0-kind": "business_hours", "sched-0-new": "yes",
                     "sched-0-name": "Office hours", "sched-0-tuesday_from_0": "09:00",
                     "sched-0-wednesday_from_0": "9h", "sched-0-wednesday_until_0": "17:00"})
    schedules = ScheduleForms(data, stored=[])
    assert not schedules.is_valid()
    form = schedules.forms[0]
    assert form.errors["tuesday_until_0"] == ["Enter both times, or neither."]
    assert form.errors["wednesday_from_0"] == ["Enter a time such as 09:00."]
    assert ("id_sched-0-tuesday_until_0", "New schedule: business hours, Tuesday: until",
            "Enter both times, or neither.") in schedules.summary()


def test_holidays_rows_removed_and_blank_schedules():
    stored = [OFFICE_HOURS, {"name": "Holidays", "kind": "holidays", "dates": [
        {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26", "yearly": True}]}]
    shown = ScheduleForms(None, stored=stored)
    # Both stored, then an empty one of each kind to add one.
    assert [(f.schedule_kind, f.new) for f in shown.forms] == [
        ("business_hours", False), ("holidays", False), ("business_hours", True),
        ("holidays", True)]
    assert shown.forms[1].row_count == 3  # the date and two empty rows
    data = posted(**{
        "sched-TOTAL": "4",
        "sched-0-kind": "business_hours", "sched-0-name": "Office hours",
        "sched-0-remove": "on",
        "sched-1-kind": "holidays", "sched-1-rows": "3", "sched-1-name": "Holidays",
        "sched-1-date_0_name": "Christmas", "sched-1-date_0_first": "2026-12-25",
        "sched-1-date_0_last": "2026-12-26", "sched-1-date_0_yearly": "on",
        "sched-1-date_2_name": "Company day", "sched-1-date_2_first": "2027-05-03",
        "sched-2-kind": "business_hours", "sched-2-new": "yes",
        "sched-3-kind": "holidays", "sched-3-new": "yes", "sched-3-rows": "3",
    })
    schedules = ScheduleForms(data, stored=stored)
    assert schedules.is_valid()
    assert schedules.schedules() == [{"name": "Holidays", "kind": "holidays", "dates": [
        {"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26", "yearly": True},
        # An empty last day: the first day only.
        {"name": "Company day", "start": "2027-05-03", "end": "2027-05-03", "yearly": False},
    ]}]
    # The service's errors find their field through the forms that were sent.
    schedules.attach("schedules-0-name", ["Schedule 1 has this name already."])
    schedules.attach("schedules-0-dates", ["Date 2 (Company day): the last day is before "
                                           "the first."])
    schedules.attach("schedules", ["Office hours is used by caller rule 1."])
    holidays = schedules.forms[1]
    assert holidays.errors["name"] == ["Schedule 1 has this name already."]
    # Date 2 is the second row sent: row 2 of the page (row 1 was left empty).
    assert holidays.errors["date_2_first"] == [
        "Date 2 (Company day): the last day is before the first."]
    assert schedules.errors == ["Office hours is used by caller rule 1."]


def test_a_day_with_more_periods_than_the_page_offers_keeps_them_all():
    """Set through the API: three periods on Monday. The page shows three, so saving it
    drops none."""
    stored = [{"name": "Shifts", "kind": "business_hours", "hours": {"monday": [
        ["06:00", "10:00"], ["12:00", "14:00"], ["18:00", "24:00"]]}}]
    shown = ScheduleForms(None, stored=stored)
    form = shown.forms[0]
    assert form.period_count == 3
    assert form.initial["monday_until_2"] == "00:00"  # midnight, as a time input says it
    data = posted(**{"sched-TOTAL": "1", "sched-0-kind": "business_hours",
                     "sched-0-rows": "3", "sched-0-name": "Shifts",
                     "sched-0-monday_from_0": "06:00", "sched-0-monday_until_0": "10:00",
                     "sched-0-monday_from_1": "12:00", "sched-0-monday_until_1": "14:00",
                     "sched-0-monday_from_2": "18:00", "sched-0-monday_until_2": "00:00"})
    schedules = ScheduleForms(data, stored=stored)
    assert schedules.is_valid() and schedules.schedules() == stored


def test_a_day_error_lands_on_that_days_first_time():
    data = posted(**{"sched-TOTAL": "1", "sched-0-kind": "business_hours",
                     "sched-0-name": "Office hours", "sched-0-monday_from_0": "17:00",
                     "sched-0-monday_until_0": "09:00"})
    schedules = ScheduleForms(data, stored=[OFFICE_HOURS])
    assert schedules.is_valid()
    schedules.schedules()
    schedules.attach("schedules-0-monday", ["Interval 1 (17:00-09:00): the end must be after "
                                            "the start."])
    assert schedules.forms[0].errors["monday_from_0"] == [
        "Interval 1 (17:00-09:00): the end must be after the start."]


def test_a_rule_for_every_caller_outside_a_schedule():
    form = CallerRuleForm(
        {"match_all": "on", "schedule": "outside:Office hours", "destination": "2001"},
        caps=capabilities_for("graph", "beta"), schedule_names=["Office hours"])
    assert form.is_valid(), form.errors
    rule = form.rule()
    assert (rule["match_all"], rule["schedule"], rule["schedule_when"]) == (
        True, "Office hours", "outside")
    choices = dict(form.fields["schedule"].choices)
    assert choices["outside:Office hours"] == "Only outside Office hours"
    # A schedule typed in the same post (the script lists it before it is saved) is kept
    # for the service to check.
    typed = CallerRuleForm({"schedule": "during:Lunch", "destination": "2001",
                            "match_all": "on"}, caps=capabilities_for("webex"))
    assert typed.is_valid() and typed.rule()["schedule"] == "Lunch"
    # Where rules take no schedule the field is not shown and nothing is sent for it.
    lync = CallerRuleForm({"callers": "+13035550110", "destination": "2001"},
                          caps=capabilities_for("lync"))
    assert lync.is_valid() and not lync.shown("schedule")
    assert "schedule" not in lync.rule()


# --- the week at a glance (any provider) -------------------------------------------------


@pytest.mark.django_db
def test_the_week_at_a_glance_is_drawn_with_a_legend_and_in_words(client, member, mia):
    update(mia, always_enabled=True, always_destination="+1 202 555 0100")
    client.force_login(member)
    response = client.get(reverse("my_forwarding"))
    html = response.content.decode()
    week = html[html.index('aria-labelledby="week-heading"'):]
    week = week[:week.index("</section>")]
    assert "Your week at a glance" in week
    assert 'role="img"' in week and "<title id=\"week-title\">" in week
    # A letter on the drawing and in the legend: colour is not the only signal.
    assert '<text class="letter"' in week
    assert 'aria-hidden="true">A</span><span class="visually-hidden">A: </span>Forwarded to ' \
        "+1 202 555 0100" in week
    assert "00:00-24:00: Forwarded to +1 202 555 0100" in week
    assert "Times in UTC." in week
    assert_page_is_clean(response)


@pytest.mark.django_db
def test_an_admin_reads_the_week_in_the_persons_words_and_zone(client, org):
    org.time_zone = "Europe/Berlin"
    org.save(update_fields=["time_zone"])
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    person = make_person(org, name="Ada Lovelace", number="+12025550142")
    client.force_login(admin)
    html = client.get(reverse("person_forwarding", args=[person.id])).content.decode()
    assert "Ada Lovelace's week at a glance" in html
    assert "00:00-24:00: Rings Ada Lovelace&#x27;s phone" in html
    assert "Times in Europe/Berlin." in html


# --- the new cards -------------------------------------------------------------------------


@pytest.fixture
def webex_member(db):
    org = make_org("webex", time_zone="Europe/Berlin")
    user = make_user(org=org, role=Membership.MEMBER)
    person = make_person(org, user=user, name="Ada Lovelace", number="+12025550142")
    return user, person


@pytest.mark.django_db
class TestNewCards:
    def test_the_page_shows_the_new_cards_and_an_unchanged_form_changes_nothing(
            self, client, webex_member):
        user, person = webex_member
        update(person, schedules=[OFFICE_HOURS], dnd_enabled=True,
               simring_enabled=True, simring_targets=["+1 202 555 0177"],
               simring_confirm=["+1 202 555 0177"],
               rules=[{"match_all": True, "destination": "+1 202 555 0100",
                       "schedule": "Office hours", "schedule_when": "outside"}])
        client.force_login(user)
        response = client.get(reverse("my_forwarding"))
        html = response.content.decode()
        assert_page_is_clean(response)
        assert 'id="section-dnd"' in html and 'id="section-schedules"' in html
        assert 'name="dnd_enabled"' in html and 'role="switch"' in html
        assert 'value="+12025550177" id="id_simring_confirm_0" checked' in html
        assert '<option value="outside:Office hours" selected>' in html
        assert 'name="sched-0-monday_from_0" value="09:00"' in html
        events = audit_count()
        again = client.post(reverse("my_forwarding"), shown_form(html), follow=True)
        assert "Nothing changed" in again.content.decode(), again.content.decode()[:3000]
        assert audit_count() == events

    def test_dnd_a_schedule_and_an_outside_hours_rule_are_saved_and_drawn(
            self, client, webex_member):
        user, person = webex_member
        client.force_login(user)
        html = client.get(reverse("my_forwarding")).content.decode()
        # First save: do not disturb with ring splash, and the business hours.
        hours = {f"sched-0-{d}_{side}_0": t for d in WEEKDAYS
                 for side, t in (("from", "09:00"), ("until", "17:00"))}
        data = shown_form(html, dnd_enabled="on", dnd_ring_splash="on",
                          **{"sched-0-name": "Office hours", **hours})
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 302, response.content.decode()[:4000]
        settings = ForwardingSettings.objects.get(person=person)
        assert settings.dnd_enabled and settings.dnd_ring_splash
        assert settings.schedules == [OFFICE_HOURS]
        # Second save: the schedule is now a choice of the rule.
        html = client.get(reverse("my_forwarding")).content.decode()
        data = shown_form(html, dnd_enabled=None, **{
            "caller_rules-0-match_all": "on", "caller_rules-0-schedule": "outside:Office hours",
            "caller_rules-0-destination": "+1 202 555 0100", "caller_rules-0-ORDER": "1"})
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 302, response.content.decode()[:4000]
        rule = ForwardingSettings.objects.get(person=person).caller_rules.get()
        assert (rule.match_all, rule.schedule, rule.schedule_when, rule.destination) == (
            True, "Office hours", "outside", "+12025550100")
        html = client.get(reverse("my_forwarding")).content.decode()
        week = html[html.index('aria-labelledby="week-heading"'):]
        assert "09:00-17:00: Rings your phone" in week
        assert "17:00-24:00: Forwarded to +1 202 555 0100" in week

    def test_service_errors_land_next_to_their_fields_and_nothing_is_saved(
            self, client, webex_member):
        user, person = webex_member
        update(person, schedules=[OFFICE_HOURS])
        client.force_login(user)
        html = client.get(reverse("my_forwarding")).content.decode()
        events = audit_count()
        data = shown_form(html, **{
            # A second schedule with the same name, and an hour that ends before it starts.
            "sched-1-name": "office hours", "sched-1-saturday_from_0": "12:00",
            "sched-1-saturday_until_0": "10:00",
            "caller_rules-0-match_all": "on", "caller_rules-0-schedule": "during:Lunch",
            "caller_rules-0-destination": "2001", "caller_rules-0-ORDER": "1"})
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 400
        page = response.content.decode()
        assert 'id="error-summary"' in page
        assert "There is no schedule called Lunch" in page
        rule_field = page[page.index('id="id_caller_rules-0-schedule"'):]
        assert "There is no schedule called Lunch" in rule_field[:1500]
        assert "Schedule 1 has this name already" in page
        saturday = page[page.index('id="id_sched-1-saturday_from_0"'):]
        assert "the end must be after the start" in saturday[:800]
        assert audit_count() == events

    def test_a_schedule_a_rule_uses_cannot_be_removed(self, client, webex_member):
        user, person = webex_member
        update(person, schedules=[OFFICE_HOURS],
               rules=[{"match_all": True, "destination": "+1 202 555 0100",
                       "schedule": "Office hours", "schedule_when": "outside"}])
        client.force_login(user)
        html = client.get(reverse("my_forwarding")).content.decode()
        response = client.post(reverse("my_forwarding"),
                               shown_form(html, **{"sched-0-remove": "on"}))
        assert response.status_code == 400
        page = response.content.decode()
        # The rule, posted with the page, names the schedule that would be gone.
        rule_field = page[page.index('id="id_caller_rules-0-schedule"'):]
        assert "There is no schedule called Office hours" in rule_field[:1500]
        assert ForwardingSettings.objects.get(person=person).schedules == [OFFICE_HOURS]

    def test_press_a_key_boxes_follow_the_numbers(self, client, webex_member):
        user, person = webex_member
        update(person, simring_enabled=True, simring_targets=["+1 202 555 0177",
                                                              "+1 202 555 0178"])
        client.force_login(user)
        html = client.get(reverse("my_forwarding")).content.decode()
        assert 'value="+12025550178" id="id_simring_confirm_1"' in html
        # Tick both, but take the second number out of the list while saving: its tick
        # goes with it.
        data = shown_form(html, simring_confirm=["+12025550177", "+12025550178"],
                          simring_skip_when_on_call="on",
                          simring_targets="202 555 0177")
        response = client.post(reverse("my_forwarding"), data)
        assert response.status_code == 302, response.content.decode()[:4000]
        settings = ForwardingSettings.objects.get(person=person)
        assert settings.simring_targets == ["+12025550177"]
        assert settings.simring_confirm == ["+12025550177"]
        assert settings.simring_skip_when_on_call


@pytest.mark.django_db
def test_the_week_is_kept_per_version_and_redrawn_after_a_change(client, member, mia,
                                                                   monkeypatch):
    from forwarding.rules import week

    update(mia, always_enabled=True, always_destination="+1 202 555 0100")
    client.force_login(member)
    assert "00:00-24:00: Forwarded to +1 202 555 0100" in \
        client.get(reverse("my_forwarding")).content.decode()

    # The same version again: the week comes from the cache, routing is not asked.
    def not_again(*args, **kwargs):
        raise AssertionError("the week was computed again")

    with monkeypatch.context() as patch:
        patch.setattr(week, "week_at_a_glance", not_again)
        assert "00:00-24:00: Forwarded to +1 202 555 0100" in \
            client.get(reverse("my_forwarding")).content.decode()

    # A new version is a new week.
    update(mia, always_destination="+1 202 555 0111")
    html = client.get(reverse("my_forwarding")).content.decode()
    assert "00:00-24:00: Forwarded to +1 202 555 0111" in html
    assert "+1 202 555 0100" not in html[html.index('aria-labelledby="week-heading"'):]
