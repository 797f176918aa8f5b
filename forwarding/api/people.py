"""The API of people: the list, a person, their forwarding (read, replace, change) and
their sync state with "retry now". Who may see whom comes from `portal.access` (through
`bulk_selectors.Reach` for the list); writes go through the services with an audit Actor
built from the request; every rule about forwarding values lives in
`forwarding.rules.validation`.

Anonymous callers get 401 (`WWW-Authenticate: Token`); people the caller may not see
answer 404, as on the pages; changing somebody else's settings without TOTP answers 403.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from forwarding.api import answers as answers
from forwarding.api import errors
from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.api.params import INT_MAX, EstimatingPagination, PeopleFilters
from forwarding.bulk import selectors as bulk_selectors
from forwarding.rules import selectors, services
from forwarding.rules.validation import DEFAULTS, EDITABLE_FIELDS, LoopWarning
from forwarding.sync import delivery
from portal import access
from portal import services as portal_services

# --- people -----------------------------------------------------------------------------------


class PeopleList(PortalAPIView):
    serializer_class = s.PersonSerializer
    pagination_class = EstimatingPagination

    @extend_schema(operation_id="people_list", parameters=[PeopleFilters],
                   responses={200: s.PersonSerializer(many=True), **error_responses(400, 404)},
                   summary="People the caller may see")
    def get(self, request):
        params = self.query(PeopleFilters)
        reach = bulk_selectors.Reach(request.user)
        people = bulk_selectors.people_list_for(
            request.user, query=params.get("q", ""), org_id=params.get("org"),
            sync_status=params.get("sync_status"), reach=reach)
        # A searched or filtered count stops at "more than 1,000" (no estimate).
        self.paginator.estimate = not (params.get("q") or params.get("sync_status"))
        page = self.paginate_queryset(people)
        found = [answers.person_answer(p, user=request.user,
                                       via_partner=reach.partner_for_person(p))
                 for p in page]
        return self.get_paginated_response(s.PersonSerializer(found, many=True).data)


class PersonDetail(PortalAPIView):
    serializer_class = s.PersonSerializer

    @extend_schema(operation_id="people_retrieve", responses={
        200: s.PersonSerializer, **error_responses(404)})
    def get(self, request, pk):
        return self._answer(request, access.person_for(request.user, pk))

    @staticmethod
    def _answer(request, person):
        settings = selectors.stored_settings(person)
        person.forwarding = settings if settings.pk else None
        via = access.acting_partner(request.user, person)
        return Response(s.PersonSerializer(
            answers.person_answer(person, user=request.user, via_partner=via)).data)

    @extend_schema(operation_id="people_partial_update", request=s.TimeZoneSerializer,
                   responses={200: s.PersonSerializer, **error_responses(400, 403, 404)},
                   summary="Change a person's time zone (empty: the org's)")
    def patch(self, request, pk):
        person = access.person_for(request.user, pk)
        require_mfa(request.user, person)
        if not isinstance(request.data, dict):
            raise errors.invalid({"non_field_errors": ["Send a JSON object."]})
        serializer = s.TimeZoneSerializer(data=request.data)
        if not serializer.is_valid():
            raise errors.invalid(serializer.errors)
        try:
            person = portal_services.person_time_zone_update(
                person=person, time_zone=serializer.validated_data["time_zone"],
                actor=self.actor(access.acting_partner(request.user, person)))
        except ValidationError as exc:
            raise errors.invalid(errors.django_errors(exc)) from None
        return self._answer(request, person)


# --- forwarding -------------------------------------------------------------------------------

# The schema documents the same pattern, so a value it allows is never refused for its
# form (one with more digits than a version can have is refused for its range).
_IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,10}"?\s*$'
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?([0-9]{1,10})"?\s*$')
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    pattern=_IF_MATCH_PATTERN,
    description='The version you read, as the ETag of GET: "7". A stale one answers 412.')


LOOP_WARNING = ("Not saved: this change makes a forwarding loop in some conditions (see "
                "`errors`). Send it again with confirm_loops: true to save it anyway.")


def _etag(settings):
    return f'"{settings.version}"'


class PersonForwarding(PortalAPIView):
    serializer_class = s.ForwardingSerializer

    def _person(self, pk):
        return access.person_for(self.request.user, pk)

    def _answer(self, person, settings, status_code=200):
        via = access.acting_partner(self.request.user, person)
        data = s.ForwardingSerializer(
            answers.forwarding_answer(settings, person, via_partner=via)).data
        return Response(data, status=status_code, headers={"ETag": _etag(settings)})

    @extend_schema(operation_id="people_forwarding_retrieve",
                   responses={200: s.ForwardingSerializer, **error_responses(404)},
                   summary="A person's forwarding (ETag: the version)")
    def get(self, request, pk):
        person = self._person(pk)
        return self._answer(person, selectors.stored_settings(person))

    @extend_schema(operation_id="people_forwarding_update", parameters=[IF_MATCH],
                   request=s.ForwardingSerializer,
                   responses={200: s.ForwardingSerializer,
                              **error_responses(400, 403, 404, 409, 412)},
                   summary="Replace a person's forwarding (omitted settings: off/empty)")
    def put(self, request, pk):
        return self._write(request, pk, partial=False)

    @extend_schema(operation_id="people_forwarding_partial_update", parameters=[IF_MATCH],
                   request=s.ForwardingSerializer,
                   responses={200: s.ForwardingSerializer,
                              **error_responses(400, 403, 404, 409, 412)},
                   summary="Change some of a person's forwarding")
    def patch(self, request, pk):
        return self._write(request, pk, partial=True)

    def _write(self, request, pk, *, partial):
        person = self._person(pk)
        require_mfa(request.user, person)
        if not isinstance(request.data, dict):
            raise errors.invalid({"non_field_errors": ["Send a JSON object."]})
        expected, if_match = self._expected_version(request)
        serializer = s.ForwardingSerializer(data=request.data, partial=True)
        if not serializer.is_valid():
            raise errors.invalid(serializer.errors)
        confirm_loops = bool(serializer.validated_data.get("confirm_loops", False))
        changes, rules = self._changes(serializer, request.data, partial=partial)
        actor = self.actor(access.acting_partner(request.user, person))
        try:
            saved = services.forwarding_update(
                person=person, changes=changes, expected_version=expected, actor=actor,
                caller_rules=rules, confirm_loops=confirm_loops)
        except services.StaleVersion as exc:
            raise errors.Conflict(exc.message, current_version=exc.current_version,
                                  status_code=412 if if_match else 409) from None
        except LoopWarning as exc:
            raise errors.invalid(errors.django_errors(exc), LOOP_WARNING,
                                 confirm="confirm_loops") from None
        except ValidationError as exc:
            raise errors.invalid(errors.django_errors(exc)) from None
        return self._answer(person, selectors.stored_settings(saved.person))

    @staticmethod
    def _expected_version(request):
        header = request.headers.get("If-Match")
        body = request.data.get("version")
        if header is not None:
            match = _IF_MATCH.match(header)
            if match is None or int(match.group(1)) > INT_MAX:
                raise errors.invalid({"If-Match": ['Send the version you read: "7".']})
            version = int(match.group(1))
            if body is not None and body != version:
                raise errors.invalid({"version": ["It differs from the If-Match header."]})
            return version, True
        if body is None:
            raise errors.invalid({"version": [
                "Send the version you read (or an If-Match header), so a change made by "
                "somebody else in the meantime is not overwritten."]})
        if isinstance(body, bool) or not isinstance(body, int):
            raise errors.invalid({"version": ["Enter a whole number."]})
        return body, False

    @staticmethod
    def _changes(serializer, raw, *, partial):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        data.pop("confirm_loops", None)
        rules = data.pop("caller_rules", None)
        if rules is not None:
            rules = [dict(rule) for rule in rules]
        if not partial:
            data = {name: data.get(name, DEFAULTS[name]) for name in EDITABLE_FIELDS}
            rules = rules if rules is not None else []
        # Unknown fields go to the service, which refuses them with the forms' message;
        # read-only fields of the GET answer sent back are ignored.
        known = set(serializer.fields)
        for name, value in raw.items():
            if name not in known:
                data[name] = value
        return data, rules


# --- sync state and retry ---------------------------------------------------------------------


def person_sync(user, person, settings) -> dict:
    return s.PersonSyncSerializer(answers.sync_answer(
        settings, selectors.caps_for(person), org=person.org,
        via_partner=access.acting_partner(user, person))).data


class PersonSync(PortalAPIView):
    serializer_class = s.PersonSyncSerializer

    @extend_schema(operation_id="people_sync_retrieve",
                   responses={200: s.PersonSyncSerializer, **error_responses(404)})
    def get(self, request, pk):
        person = access.person_for(request.user, pk)
        settings = selectors.stored_settings(person)
        return Response(person_sync(request.user, person, settings if settings.pk else None))


class PersonSyncRetry(PortalAPIView):
    serializer_class = s.PersonSyncSerializer

    @extend_schema(operation_id="people_sync_retry", request=None,
                   responses={200: s.PersonSyncSerializer, **error_responses(403, 404)},
                   summary="Retry now: push again from a failed or waiting state")
    def post(self, request, pk):
        # The rules of the page's button (forwarding.pages.sync_views.retry_now): anyone who
        # sees the person, TOTP when it is somebody else, 404 while nothing is stored.
        person = access.person_for(request.user, pk)
        settings = selectors.stored_settings(person)
        if settings.pk is None:
            raise Http404("Nothing to synchronise yet")
        require_mfa(request.user, person)
        if settings.version > settings.synced_version:
            delivery.retry_now(settings=settings,
                           actor=self.actor(access.acting_partner(request.user, person)))
            settings = selectors.stored_settings(person)
        return Response(person_sync(request.user, person, settings))


