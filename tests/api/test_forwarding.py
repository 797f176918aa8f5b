"""GET/PUT/PATCH /api/v1/people/{id}/forwarding/: roles, versions (body or If-Match, 409
and 412), the forms' validation and messages, MFA, partners, audit rows."""

import pytest
from django.core.exceptions import ValidationError

from forwarding.models import ForwardingSettings
from forwarding.rules import services
from portal.audit import Actor
from portal.models import AuditEvent, Delegation, Membership
from tests.cast import audit_count, make_org, make_person, update

from .conftest import ROLES, user_of

MFA_MESSAGE = ("Turn on two-factor authentication (an authenticator app) before changing "
               "settings for other people.")


def url(person):
    return f"/api/v1/people/{person.id}/forwarding/"


def version_of(person):
    row = ForwardingSettings.objects.filter(person=person).first()
    return row.version if row else 1


def service_errors(person, **changes):
    """What the service (and so the page's form) says about these changes."""
    try:
        update(person, **changes)
    except ValidationError as exc:
        return exc.message_dict
    raise AssertionError("expected a validation error")


@pytest.mark.django_db
class TestRead:
    @pytest.mark.parametrize("role, status", [
        ("anonymous", 401), ("member", 404), ("admin", 200), ("admin_no_mfa", 200),
        ("stranger", 404), ("partner", 200), ("lonely_partner", 404)])
    def test_someone_elses_forwarding(self, api, roles, role, status):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        response = api(user_of(roles, role)).get(url(roles.bob))
        assert response.status_code == status
        if status == 200:
            body = response.json()
            assert body["busy_enabled"] is True and body["busy_destination"] == "2001"
            assert body["version"] == 2 and response["ETag"] == '"2"'
            assert body["person"]["display_name"] == "Bob Builder"
            assert body["supported_features"] == ["always", "busy", "no_answer", "continuity",
                                                  "simring", "caller_rules", "time_window",
                                                  "schedules", "dnd"]
            if role == "partner":
                assert body["via_partner"] == {"id": roles.partner_org.id, "name": "Partner Co"}
                assert body["acting_for"] == {"id": roles.org.id, "name": "Acme"}
            else:
                assert body["via_partner"] is None and body["acting_for"] is None

    def test_a_member_reads_their_own_and_nothing_is_created(self, api, roles):
        response = api(roles.member).get(url(roles.mia))
        assert response.status_code == 200
        body = response.json()
        assert body["version"] == 1 and body["always_enabled"] is False
        assert body["sync"]["status"] == "none" and body["caller_rules"] == []
        assert not ForwardingSettings.objects.filter(person=roles.mia).exists()


@pytest.mark.django_db
class TestWriteAccess:
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_roles(self, api, roles, role, method):
        events = audit_count()
        body = {"version": 1, "busy_enabled": True, "busy_destination": "2001"}
        response = getattr(api(user_of(roles, role)), method)(url(roles.bob), body,
                                                              format="json")
        expected = {"anonymous": 401, "member": 404, "admin": 200, "admin_no_mfa": 403,
                    "stranger": 404, "partner": 200, "lonely_partner": 404}[role]
        assert response.status_code == expected, response.content
        if expected == 200:
            assert response.json()["version"] == 2
            assert version_of(roles.bob) == 2 and audit_count() == events + 1
        else:
            assert version_of(roles.bob) == 1 and audit_count() == events
        if expected == 403:
            assert response.json() == {"detail": MFA_MESSAGE}

    def test_a_member_changes_their_own_without_mfa(self, api, roles):
        response = api(roles.member).patch(url(roles.mia), {
            "version": 1, "no_answer_enabled": True, "no_answer_destination": "2001"},
            format="json")
        assert response.status_code == 200
        assert response.json()["no_answer_ring_after"] == 3  # the provider's default

    def test_token_authentication(self, api, roles):
        response = api(roles.admin, token=True).patch(
            url(roles.bob), {"version": 1, "always_enabled": True,
                             "always_destination": "+1 (202) 555-0150"}, format="json")
        assert response.status_code == 200
        assert response.json()["always_destination"] == "+12025550150"

    def test_the_audit_row_names_the_partner(self, api, roles):
        api(roles.partner).patch(url(roles.bob), {"version": 1, "busy_enabled": True,
                                                  "busy_destination": "2001"},
                                 format="json", REMOTE_ADDR="192.0.2.44")
        event = AuditEvent.objects.get(person=roles.bob, event="forwarding.updated")
        assert event.actor == roles.partner and event.via_partner == roles.partner_org
        assert event.actor_label == f"{roles.partner.email} (partner Partner Co)"
        assert event.ip == "192.0.2.44" and event.org == roles.org
        assert event.old["busy_enabled"] is False and event.new["busy_enabled"] is True
        row = ForwardingSettings.objects.get(person=roles.bob)
        assert row.push_via_partner == roles.partner_org


@pytest.mark.django_db
class TestVersions:
    def test_if_match_instead_of_the_body(self, api, roles):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        client = api(roles.admin)
        etag = client.get(url(roles.bob))["ETag"]
        response = client.patch(url(roles.bob), {"busy_destination": "2002"}, format="json",
                                HTTP_IF_MATCH=etag)
        assert response.status_code == 200 and response["ETag"] == '"3"'

    def test_a_stale_if_match_is_412_with_the_current_version(self, api, roles):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        response = api(roles.admin).patch(url(roles.bob), {"busy_destination": "2002"},
                                          format="json", HTTP_IF_MATCH='"1"')
        assert response.status_code == 412
        body = response.json()
        assert body["current_version"] == 2 and "Somebody else changed" in body["detail"]
        assert version_of(roles.bob) == 2

    def test_a_stale_body_version_is_409(self, api, roles):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        events = audit_count()
        response = api(roles.admin).put(url(roles.bob), {"version": 1}, format="json")
        assert response.status_code == 409
        assert response.json()["current_version"] == 2 and audit_count() == events

    def test_no_version_at_all_is_400(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), {"busy_enabled": False},
                                          format="json")
        assert response.status_code == 400
        assert "version" in response.json()["errors"]

    @pytest.mark.parametrize("header, body, field", [
        ("seven", {}, "If-Match"), ('"1"', {"version": 2}, "version"),
        (None, {"version": "1"}, "version")])
    def test_malformed_versions(self, api, roles, header, body, field):
        extra = {"HTTP_IF_MATCH": header} if header else {}
        response = api(roles.admin).patch(url(roles.bob), body, format="json", **extra)
        assert response.status_code == 400 and field in response.json()["errors"]

    def test_saving_the_same_values_bumps_nothing(self, api, roles):
        update(roles.bob, busy_enabled=True, busy_destination="2001")
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 2, "busy_enabled": True, "busy_destination": "2001"}, format="json")
        assert response.status_code == 200 and response.json()["version"] == 2


@pytest.mark.django_db
class TestValidation:
    def test_the_forms_messages_keyed_by_field(self, api, roles):
        expected = service_errors(roles.bob, busy_enabled=True, always_enabled=True,
                                  always_destination="+1202555010")
        events = audit_count()
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 1, "busy_enabled": True, "always_enabled": True,
            "always_destination": "+1202555010"}, format="json")
        assert response.status_code == 400
        body = response.json()
        assert body["errors"] == expected
        assert set(expected) == {"busy_destination", "always_destination"}
        assert body["detail"] == "Some values are not valid; see errors."
        assert version_of(roles.bob) == 1 and audit_count() == events

    def test_an_unsupported_feature_is_refused_with_the_matrix_reason(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 1, "simring_enabled": True, "simring_targets": ["2001"],
            "simring_timeout": 20}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {"simring_timeout": [
            "Webex Calling does not let you choose how long the lines ring."]}

    def test_forwarding_to_the_own_line(self, api, roles):
        response = api(roles.member).patch(url(roles.mia), {
            "version": 1, "busy_enabled": True, "busy_destination": "+1 202 555 0101"},
            format="json")
        assert response.status_code == 400
        assert "calls would come straight back" in response.json()["errors"][
            "busy_destination"][0]

    def test_a_loop_names_the_cycle(self, api, roles):
        update(roles.mia, always_enabled=True, always_destination="+12025550102")
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 1, "always_enabled": True, "always_destination": "+12025550101"},
            format="json")
        assert response.status_code == 400
        message = response.json()["errors"]["always_destination"][0]
        assert "Bob Builder → Mia Member → Bob Builder" in message

    def test_the_length_limit_is_the_orgs_providers(self, api, roles):
        sip100 = "sip:" + "a" * 84 + "@example.com"
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 1, "always_enabled": True, "always_destination": sip100}, format="json")
        assert response.status_code == 200, response.content  # Webex: the portal's 200
        assert response.json()["always_destination"] == sip100
        ucwa_org = make_org("ucwa", name="Lyncco")
        person = make_person(ucwa_org, number="+12025550177")
        Membership.objects.create(user=roles.admin, org=ucwa_org, role=Membership.ADMIN)
        response = api(roles.admin).patch(url(person), {
            "version": 1, "always_enabled": True, "always_destination": sip100}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["errors"]["always_destination"] == [
            "Use at most 80 characters (Skype for Business (UCWA)'s limit); this one has 100."]

    def test_unknown_fields_are_refused_like_the_service_does(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), {"version": 1, "alwaysEnabled": True},
                                          format="json")
        assert response.status_code == 400
        assert response.json()["errors"] == {
            "alwaysEnabled": ["This is not a forwarding setting that can be changed."]}

    def test_wrong_json_types(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), {
            "version": 1, "busy_enabled": "maybe", "no_answer_ring_after": "soon"},
            format="json")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"busy_enabled", "no_answer_ring_after"}

    def test_a_list_body_is_refused(self, api, roles):
        response = api(roles.admin).patch(url(roles.bob), [1, 2], format="json")
        assert response.status_code == 400


@pytest.mark.django_db
class TestPut:
    def test_put_replaces_everything(self, api, roles):
        update(roles.bob, always_enabled=True, always_destination="2001",
               busy_enabled=True, busy_destination="2002")
        response = api(roles.admin).put(url(roles.bob), {
            "version": 2, "busy_enabled": True, "busy_destination": "2003"}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["always_enabled"] is False and body["busy_destination"] == "2003"

    def test_the_get_answer_can_be_sent_back(self, api, roles):
        client = api(roles.admin)
        body = client.get(url(roles.bob)).json()
        body["continuity_enabled"] = True
        body["continuity_destination"] = "2004"
        response = client.put(url(roles.bob), body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["continuity_destination"] == "2004"

    def test_caller_rules_on_graph_with_per_rule_errors(self, api, roles):
        graph = make_org("graph", graph_api_version="beta")
        Delegation.objects.create(customer=graph, partner=roles.partner_org)
        person = make_person(graph, name="Gina Graph", number="+12025550160")
        client = api(roles.partner)
        response = client.put(url(person), {"version": 1, "caller_rules": [
            {"callers": ["+1 202 555 0170"], "destination": "2001",
             "disposition": "redirect", "mask_caller": True},
            {"callers": [], "destination": ""}]}, format="json")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"caller_rules-1-callers",
                                                 "caller_rules-1-destination"}
        response = client.put(url(person), {"version": 1, "caller_rules": [
            {"callers": ["+1 202 555 0170", "anonymous"], "destination": "2001",
             "disposition": "redirect", "mask_caller": True}]}, format="json")
        assert response.status_code == 200, response.json()
        rule = response.json()["caller_rules"][0]
        assert rule["callers"] == ["+12025550170"] and rule["match_anonymous"] is True
        assert response.json()["sync"]["status"] == "not_pushed"

    def test_nested_type_errors_use_the_service_keys(self, api, roles):
        graph = make_org("graph", graph_api_version="beta")
        Delegation.objects.create(customer=graph, partner=roles.partner_org)
        person = make_person(graph)
        response = api(roles.partner).put(url(person), {"version": 1, "caller_rules": [
            {"callers": ["2001"], "destination": "2002"},
            {"callers": ["2001"], "destination": "2002", "mask_caller": "perhaps"}]},
            format="json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["caller_rules-1-mask_caller"]


def test_the_service_is_what_the_api_calls(monkeypatch, api, roles):
    """The API adds no rule of its own: every write is services.forwarding_update."""
    calls = []
    real = services.forwarding_update

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "forwarding_update", spy)
    response = api(roles.admin).patch(url(roles.bob), {"version": 1, "busy_enabled": False},
                                      format="json")
    assert response.status_code == 200
    assert len(calls) == 1 and isinstance(calls[0]["actor"], Actor)
    assert calls[0]["changes"] == {"busy_enabled": False} and calls[0]["caller_rules"] is None
