"""The forwarding resource's issue-16 fields through the API: schedules, rules for every
caller during or outside a schedule, do not disturb and answer confirmation; bad values
answer 400 with the message on the field (the service's words) and change nothing. Every
answer is checked against the OpenAPI schema (tests/api/conftest.py)."""

import pytest

from forwarding.models import ForwardingSettings
from tests.cast import audit_count

from .test_forwarding import url, version_of

OFFICE = {"name": "Office hours", "kind": "business_hours",
          "hours": {"monday": [["09:00", "17:00"]], "tuesday": [["09:00", "17:00"]]}}
HOLIDAYS = {"name": "Holidays", "kind": "holidays",
            "dates": [{"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26",
                       "yearly": True}]}


@pytest.mark.django_db
class TestScheduleFields:
    def test_a_member_sets_schedules_a_scheduled_rule_and_dnd(self, api, roles):
        response = api(roles.member).patch(url(roles.mia), {
            "version": 1, "schedules": [OFFICE, HOLIDAYS],
            "caller_rules": [{"match_all": True, "destination": "+13035550100",
                              "schedule": "Office hours", "schedule_when": "outside"}],
            "dnd_enabled": True, "dnd_ring_splash": True,
            "simring_enabled": True, "simring_targets": ["+13035550101", "+13035550102"],
            "simring_confirm": ["+13035550102"], "simring_skip_when_on_call": True,
        }, format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["schedules"] == [
            OFFICE, {**HOLIDAYS, "dates": [{"name": "Christmas", "start": "2026-12-25",
                                            "end": "2026-12-26", "yearly": True}]}]
        assert body["caller_rules"][0] | {} == {
            "callers": [], "match_anonymous": False, "match_all": True,
            "destination": "+13035550100", "disposition": "forward", "mask_caller": False,
            "mask_callee": False, "schedule": "Office hours", "schedule_when": "outside"}
        assert (body["dnd_enabled"], body["dnd_ring_splash"]) == (True, True)
        assert body["simring_confirm"] == ["+13035550102"]
        assert body["simring_skip_when_on_call"] is True
        assert {"schedules", "dnd"} <= set(body["supported_features"])

    @pytest.mark.parametrize(("changes", "errors"), [
        ({"schedules": [{"name": "A", "kind": "business_hours",
                         "hours": {"monday": [["17:00", "09:00"]]}}]},
         {"schedules-0-monday": ["Interval 1 (17:00-09:00): the end must be after the "
                                 "start."]}),
        ({"schedules": [OFFICE, {**HOLIDAYS, "name": "office hours"}]},
         {"schedules-1-name": ["Schedule 1 has this name already; give each schedule its "
                               "own name."]}),
        ({"caller_rules": [{"match_all": True, "destination": "+13035550100",
                            "schedule": "Lunch", "schedule_when": "during"}]},
         {"caller_rules-0-schedule": ["There is no schedule called Lunch (the schedules: "
                                      "none yet)."]}),
        ({"simring_enabled": True, "simring_targets": ["+13035550101"],
          "simring_confirm": ["+13035550109"]},
         {"simring_confirm": ["+1 303 555 0109 is not one of the numbers that ring at the "
                              "same time; add it there or remove it here."]}),
        ({"dnd_enabled": 1}, {"dnd_enabled": ["Must be a valid boolean."]}),
        ({"schedules": [{"name": "A", "kind": "business_hours",
                         "hours": {"monday": [["09:00"]]}}]},
         {"schedules-0-hours-monday-0": ["Ensure this field has at least 2 elements."]}),
    ])
    def test_bad_values_answer_400_on_the_field(self, api, roles, changes, errors):
        events = audit_count()
        response = api(roles.member).patch(url(roles.mia), {"version": 1, **changes},
                                           format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == errors
        assert version_of(roles.mia) == 1 and audit_count() == events

    def test_a_used_schedule_cannot_be_removed(self, api, roles):
        client = api(roles.member)
        client.patch(url(roles.mia), {
            "version": 1, "schedules": [OFFICE],
            "caller_rules": [{"match_all": True, "destination": "+13035550100",
                              "schedule": "Office hours", "schedule_when": "during"}]},
            format="json")
        response = client.patch(url(roles.mia), {"version": 2, "schedules": []},
                                format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"schedules": [
            "Office hours is used by caller rule 1: change or remove that rule first."]}
        # PUT without schedules and rules clears both together.
        response = client.put(url(roles.mia), {"version": 2}, format="json")
        assert response.status_code == 200
        settings = ForwardingSettings.objects.get(person=roles.mia)
        assert settings.schedules == [] and not settings.caller_rules.exists()
