"""The REST API (/api/v1/). Thin, like the pages: who may see what comes from
`portal.access` (through `bulk_selectors.Reach` for lists), writes go through the services
with an audit Actor built from the request, reads through selectors, and every rule
about forwarding values lives in `forwarding.rules.validation`.

Anonymous callers get 401 (`WWW-Authenticate: Token`); objects the caller may not see
answer 404, as on the pages; changing somebody else's settings without TOTP answers 403.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from forwarding.api import errors
from forwarding.api import serializers as s
from forwarding.api.errors import error_responses
from forwarding.api.params import (
    INT_MAX,
    DelegationFilters,
    EventFilters,
    JobFilters,
    Pagination,
    PeopleFilters,
    RowFilters,
    parse_query,
)
from forwarding.bulk import drafts, jobs
from forwarding.bulk import selectors as bulk_selectors
from forwarding.models import BulkJob
from forwarding.pages.bulk_views import csv_response, too_many_people, upload_too_large
from forwarding.rules import selectors, services
from forwarding.rules.validation import DEFAULTS, EDITABLE_FIELDS
from forwarding.sync import delivery
from portal import access, audit
from portal import services as portal_services
from portal.forms import UNKNOWN_PARTNER_CODE
from portal.models import Delegation, Organization
from portal.models.tenancy import partner_by_code
from providers.capabilities import FEATURES

# --- building blocks --------------------------------------------------------------------------


class PortalSchema(AutoSchema):
    def get_tags(self):
        # /api/v1/people/{id}/forwarding/ -> "people"; the version is not a topic.
        parts = [p for p in self.path.split("/") if p]
        if len(parts) > 2 and parts[:2] == ["api", "v1"]:
            return [parts[2]]
        return super().get_tags()


class Metadata(SimpleMetadata):
    """OPTIONS answers the view's name, description and formats. DRF's default would also
    describe the PUT/POST body by building the serializer (and, for PUT, the object) for
    a made-up request, which these views, choosing both inside their handlers, do not
    support: it answered 500."""

    def determine_actions(self, request, view):
        return {}


class PortalAPIView(GenericAPIView):
    # Token first: an anonymous caller gets 401 with `WWW-Authenticate: Token` (with the
    # session class first DRF would answer 403, which says nothing about signing in).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    pagination_class = Pagination
    metadata_class = Metadata
    schema = PortalSchema()

    def get_exception_handler(self):
        return errors.exception_handler

    def query(self, serializer_class):
        """The query parameters, checked by `serializer_class` (400 when bad)."""
        return parse_query(self.request, serializer_class)

    def actor(self, via_partner=None):
        return audit.actor_from_request(self.request, via_partner=via_partner)


def org_ref(org):
    return {"id": org.id, "name": org.name} if org is not None else None


def acting(via_partner, org) -> dict:
    return {"via_partner": org_ref(via_partner),
            "acting_for": org_ref(org) if via_partner is not None else None}


def sync_data(settings, caps) -> dict:
    """The sync state for the API: the badge the pages show plus the raw facts."""
    view = selectors.sync_view(settings, caps)
    if settings is None:
        return {"status": "none", "label": view["label"], "details": view["details"],
                "delivery": caps.delivery, "version": None, "synced_version": None,
                "behind": False, "attempts": 0, "last_attempt_at": None,
                "last_synced_at": None, "next_attempt_at": None, "last_error": ""}
    return {
        "status": settings.sync_status, "label": view["label"], "details": view["details"],
        "delivery": caps.delivery, "version": settings.version,
        "synced_version": settings.synced_version,
        "behind": settings.version > settings.synced_version,
        "attempts": settings.sync_attempts, "last_attempt_at": settings.last_attempt_at,
        "last_synced_at": settings.last_synced_at, "next_attempt_at": settings.next_attempt_at,
        "last_error": settings.last_error,
    }


def person_data(person, *, user, via_partner) -> dict:
    caps = selectors.caps_for_org(person.org)
    settings = getattr(person, "forwarding", None)
    return {
        "id": person.id, "display_name": person.display_name, "email": person.email,
        "phone_number": person.phone_number, "extension": person.extension,
        "sip_uri": person.sip_uri, "provider_person_id": person.provider_person_id,
        "org": org_ref(person.org), "provider_kind": person.org.provider_kind,
        "is_self": person.user_id == user.id,
        "summary": selectors.short_summary(settings, caps),
        "sync": sync_data(settings, caps),
        **acting(via_partner, person.org),
    }


def forwarding_data(settings, person, *, via_partner) -> dict:
    caps = selectors.caps_for(person)
    saved = settings.pk is not None
    return {
        **services.values(settings),
        "version": settings.version,
        "person": {"id": person.id, "display_name": person.display_name,
                   "org": org_ref(person.org)},
        "window_state": settings.window_state,
        "updated_at": settings.updated_at if saved else None,
        "updated_by_label": settings.updated_by_label,
        "supported_features": [f for f in FEATURES if caps.supports(f)],
        "sync": sync_data(settings if saved else None, caps),
        **acting(via_partner, person.org),
    }


def require_mfa_for(user, person):
    if access.needs_mfa(user, person):
        raise errors.MfaRequired()


def require_mfa(user):
    from allauth.mfa.utils import is_mfa_enabled

    if not is_mfa_enabled(user):
        raise errors.MfaRequired()


# --- people -----------------------------------------------------------------------------------


class PeopleList(PortalAPIView):
    serializer_class = s.PersonSerializer

    @extend_schema(operation_id="people_list", parameters=[PeopleFilters],
                   responses={200: s.PersonSerializer(many=True), **error_responses(400, 404)},
                   summary="People the caller may see")
    def get(self, request):
        params = self.query(PeopleFilters)
        reach = bulk_selectors.Reach(request.user)
        people = bulk_selectors.people_for(
            request.user, query=params.get("q", ""), org_id=params.get("org"),
            sync_status=params.get("sync_status"))
        page = self.paginate_queryset(people)
        data = [person_data(p, user=request.user, via_partner=reach.partner_for_person(p))
                for p in page]
        return self.get_paginated_response(s.PersonSerializer(data, many=True).data)


class PersonDetail(PortalAPIView):
    serializer_class = s.PersonSerializer

    @extend_schema(operation_id="people_retrieve", responses={
        200: s.PersonSerializer, **error_responses(404)})
    def get(self, request, pk):
        person = access.person_for(request.user, pk)
        settings = selectors.stored_settings(person)
        person.forwarding = settings if settings.pk else None
        via = access.acting_partner(request.user, person)
        return Response(s.PersonSerializer(
            person_data(person, user=request.user, via_partner=via)).data)


# --- forwarding -------------------------------------------------------------------------------

# The schema documents the same pattern, so a value it allows is never refused for its
# form (one with more digits than a version can have is refused for its range).
_IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,10}"?\s*$'
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?([0-9]{1,10})"?\s*$')
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    pattern=_IF_MATCH_PATTERN,
    description='The version you read, as the ETag of GET: "7". A stale one answers 412.')


def _etag(settings):
    return f'"{settings.version}"'


class PersonForwarding(PortalAPIView):
    serializer_class = s.ForwardingSerializer

    def _person(self, pk):
        return access.person_for(self.request.user, pk)

    def _answer(self, person, settings, status_code=200):
        via = access.acting_partner(self.request.user, person)
        data = s.ForwardingSerializer(forwarding_data(settings, person, via_partner=via)).data
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
        require_mfa_for(request.user, person)
        if not isinstance(request.data, dict):
            raise errors.invalid({"non_field_errors": ["Send a JSON object."]})
        expected, if_match = self._expected_version(request)
        serializer = s.ForwardingSerializer(data=request.data, partial=True)
        if not serializer.is_valid():
            raise errors.invalid(serializer.errors)
        changes, rules = self._changes(serializer, request.data, partial=partial)
        actor = self.actor(access.acting_partner(request.user, person))
        try:
            saved = services.forwarding_update(
                person=person, changes=changes, expected_version=expected, actor=actor,
                caller_rules=rules)
        except services.StaleVersion as exc:
            raise errors.Conflict(exc.message, current_version=exc.current_version,
                                  status_code=412 if if_match else 409) from None
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
    data = sync_data(settings, selectors.caps_for(person))
    data.update(acting(access.acting_partner(user, person), person.org))
    return s.PersonSyncSerializer(data).data


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
        require_mfa_for(request.user, person)
        if settings.version > settings.synced_version:
            delivery.retry_now(settings=settings,
                           actor=self.actor(access.acting_partner(request.user, person)))
            settings = selectors.stored_settings(person)
        return Response(person_sync(request.user, person, settings))


# --- audit events -----------------------------------------------------------------------------


def event_data(event) -> dict:
    return {
        "id": event.id, "created_at": event.created_at, "event": event.event,
        "label": audit.event_label(event.event), "org": org_ref(event.org),
        "actor": event.actor_id, "actor_label": event.actor_label,
        "via_partner": org_ref(event.via_partner), "ip": event.ip,
        "person": event.person_id, "person_label": event.person_label,
        "old": event.old, "new": event.new, "data": event.data,
        "correlation_id": event.correlation_id,
    }


class AuditEventList(PortalAPIView):
    serializer_class = s.AuditEventSerializer

    @extend_schema(operation_id="audit_events_list", parameters=[EventFilters],
                   responses={200: s.AuditEventSerializer(many=True), **error_responses(400, 404)},
                   summary="Audit events of the caller's orgs and own lines, newest first")
    def get(self, request):
        params = self.query(EventFilters)
        events = bulk_selectors.events_for(
            request.user, person_id=params.get("person"), actor_id=params.get("actor"),
            event=params.get("event"), since=params.get("since"), until=params.get("until"),
            org_id=params.get("org"), correlation_id=params.get("correlation_id"))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(
            s.AuditEventSerializer([event_data(e) for e in page], many=True).data)


# --- organizations ----------------------------------------------------------------------------


def organization_data(org) -> dict:
    caps = selectors.caps_for_org(org)
    counts = org.role != "member"
    return {
        "id": org.id, "name": org.name, "provider_kind": org.provider_kind,
        "provider_label": caps.label, "role": org.role,
        "via_partner": org_ref(org.via_partner),
        "people_count": org.people_count if counts else None,
        "failed_count": org.failed_count if counts else None,
        "pending_count": org.pending_count if counts else None,
    }


class OrganizationList(PortalAPIView):
    serializer_class = s.OrganizationSerializer
    pagination_class = None

    @extend_schema(operation_id="organizations_list",
                   responses={200: s.OrganizationSerializer(many=True), **error_responses()},
                   summary="Orgs the caller belongs to or acts on, with their sync health")
    def get(self, request):
        orgs = bulk_selectors.orgs_for(request.user)
        return Response(s.OrganizationSerializer(
            [organization_data(o) for o in orgs], many=True).data)


class OrganizationDetail(PortalAPIView):
    serializer_class = s.OrganizationSerializer

    @extend_schema(operation_id="organizations_retrieve",
                   responses={200: s.OrganizationSerializer, **error_responses(404)})
    def get(self, request, pk):
        for org in bulk_selectors.orgs_for(request.user):
            if org.id == pk:
                return Response(s.OrganizationSerializer(organization_data(org)).data)
        raise Http404("No such organization")


# --- delegations ------------------------------------------------------------------------------


def visible_delegations(user):
    """Delegations granted by orgs the user administers (own or delegated, as on the org
    settings page) and those received by orgs they administer themselves."""
    reach = bulk_selectors.Reach(user)
    return Delegation.objects.filter(
        Q(customer_id__in=reach.admin_org_ids()) | Q(partner_id__in=reach.own_admin)
    ).select_related("customer", "partner", "granted_by", "revoked_by"), reach


class DelegationList(PortalAPIView):
    serializer_class = s.DelegationSerializer
    # The body is a small JSON object (docs/bulk-and-api.md); no form encodings.
    parser_classes = [JSONParser]

    @extend_schema(operation_id="delegations_list", parameters=[DelegationFilters],
                   responses={200: s.DelegationSerializer(many=True), **error_responses(400, 404)},
                   summary="Delegations your orgs granted or received")
    def get(self, request):
        params = self.query(DelegationFilters)
        delegations, reach = visible_delegations(request.user)
        if params.get("active") is not None:
            delegations = delegations.filter(revoked_at__isnull=params["active"])
        if params.get("role") == "customer":
            delegations = delegations.filter(customer_id__in=reach.admin_org_ids())
        elif params.get("role") == "partner":
            delegations = delegations.filter(partner_id__in=reach.own_admin)
        page = self.paginate_queryset(delegations.order_by("-granted_at", "-id"))
        return self.get_paginated_response(
            s.DelegationSerializer([s.delegation_data(d) for d in page], many=True).data)

    @extend_schema(operation_id="delegations_create", request=s.DelegationGrantSerializer,
                   responses={201: s.DelegationSerializer, **error_responses(400, 403, 404)},
                   summary="A customer org's own admin lets a partner org act for it")
    def post(self, request):
        body = s.DelegationGrantSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        customer = get_object_or_404(Organization, pk=body.validated_data["customer"])
        if access.partner_for(request.user, customer) is not None:  # 404 when no admin
            raise exceptions.PermissionDenied(
                "Only the organization's own admins can delegate.")
        require_mfa(request.user)
        # By the code the partner handed out, never by id: ids would let a customer probe
        # which organizations exist and read their names.
        partner = partner_by_code(body.validated_data["partner_code"])
        if partner is None:
            raise errors.invalid({"partner_code": [UNKNOWN_PARTNER_CODE]})
        delegation = portal_services.delegation_grant(
            customer=customer, partner=partner, actor=self.actor())
        return Response(s.DelegationSerializer(s.delegation_data(delegation)).data,
                        status=status.HTTP_201_CREATED)


def _delegation(user, pk):
    delegations, reach = visible_delegations(user)
    delegation = delegations.filter(pk=pk).first()
    if delegation is None:
        raise Http404("No such delegation")
    return delegation, reach


class DelegationDetail(PortalAPIView):
    serializer_class = s.DelegationSerializer

    @extend_schema(operation_id="delegations_retrieve",
                   responses={200: s.DelegationSerializer, **error_responses(404)})
    def get(self, request, pk):
        delegation, _reach = _delegation(request.user, pk)
        return Response(s.DelegationSerializer(s.delegation_data(delegation)).data)


class DelegationRevoke(PortalAPIView):
    serializer_class = s.DelegationSerializer

    @extend_schema(operation_id="delegations_revoke", request=None,
                   responses={200: s.DelegationSerializer, **error_responses(403, 404)},
                   summary="The customer org's own admin ends a delegation")
    def post(self, request, pk):
        delegation, reach = _delegation(request.user, pk)
        if delegation.customer_id not in reach.own_admin:
            raise exceptions.PermissionDenied(
                "Only the organization's own admins can revoke.")
        require_mfa(request.user)
        delegation = portal_services.delegation_revoke(delegation=delegation,
                                                       actor=self.actor())
        return Response(s.DelegationSerializer(s.delegation_data(delegation)).data)



# --- bulk: CSV export/import, bulk edit, jobs --------------------------------------------


def admin_org(user, pk):
    """The org `pk` and the partner through which `user` administers it (None: its own
    admin); 404 unless they administer it, as on the people page."""
    org = get_object_or_404(Organization, pk=pk)
    return org, access.partner_for(user, org)


def job_data(job, progress=None) -> dict:
    return {
        "id": job.pk, "org": org_ref(job.org), "kind": job.kind, "status": job.status,
        "description": job.description, "filename": job.filename,
        "created_by": job.created_by_label, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
        "undo_of": job.undo_of_id,
        "undone_by": [later.pk for later in job.undone_by.all()],
        "stopped_reason": job.stopped_reason,
        "correlation_id": job.correlation_id,
        "progress": progress if progress is not None else bulk_selectors.job_progress(job),
        **acting(job.via_partner, job.org),
    }


def dry_run_data(plan, via_partner) -> dict:
    return {
        "org": org_ref(plan.org), "total": len(plan.rows), "valid": plan.valid,
        "invalid": plan.invalid, "changing": plan.changing, "errors": plan.file_errors,
        "rows": [{"line": r.line, "key": r.key, "person": r.person.id if r.person else None,
                  "person_label": r.person_label, "valid": r.valid, "errors": r.errors,
                  "changes": r.diff} for r in plan.rows],
        "draft": None, "expires_at": None, "rows_next": None,
        **acting(via_partner, plan.org),
    }


def _job_created(request, job):
    return Response(s.BulkJobSerializer(job_data(job)).data, status=status.HTTP_202_ACCEPTED,
                    headers={"Location": reverse("api_bulk_job", args=[job.pk])})


class OrganizationExport(PortalAPIView):
    @extend_schema(operation_id="organizations_export",
                   responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(404)},
                   summary="Everyone's forwarding as CSV (the import format)")
    def get(self, request, pk):
        org, _via = admin_org(request.user, pk)
        return csv_response(org)


class OrganizationImport(PortalAPIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="organizations_import", request={"multipart/form-data": s.ImportSerializer},
        responses={200: s.DryRunSerializer,
                   202: PolymorphicProxySerializer(
                       component_name="ImportAccepted", resource_type_field_name=None,
                       serializers=[s.BulkJobSerializer, s.BulkDraftSerializer]),
                   **error_responses(400, 403, 404)},
        summary="Import a CSV: a dry run (default) or a bulk job",
        description="A dry run of a small file answers 200 with its first page of rows; "
        "a big one (more than BULK_INLINE_DRY_RUN_ROWS rows) is checked by a worker and "
        "answers 202 with the dry run to follow (Location). dry_run=false answers 202 "
        "with the bulk job.")
    def post(self, request, pk):
        org, via = admin_org(request.user, pk)
        body = s.ImportSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        upload = body.validated_data["file"]
        if (message := upload_too_large(upload.size)) is not None:
            raise errors.invalid({"file": [message]}, "The file cannot be imported.")
        if body.validated_data["dry_run"]:
            from forwarding.api.drafts import import_dry_run

            return import_dry_run(self, org, via, upload)
        require_mfa(request.user)
        plan = drafts.plan_without_draft(org, upload.read())
        if plan.file_errors:
            raise errors.invalid({"file": plan.file_errors}, "The file cannot be imported.")
        job = jobs.job_create(org=org, plan=plan, actor=self.actor(via), kind=BulkJob.IMPORT,
                              description=f"Import of {upload.name}", filename=upload.name)
        return _job_created(request, job)


class OrganizationBulkEdit(PortalAPIView):
    @extend_schema(operation_id="organizations_bulk_edit", request=s.BulkEditSerializer,
                   responses={200: s.DryRunSerializer, 202: s.BulkJobSerializer,
                              **error_responses(400, 403, 404)},
                   summary="Set or turn off one forwarding type for many people")
    def post(self, request, pk):
        org, via = admin_org(request.user, pk)
        # The id list is capped before its ids are even checked one by one.
        people = request.data.get("people") if hasattr(request.data, "get") else None
        if isinstance(people, list) and (message := too_many_people(len(people))) is not None:
            raise errors.invalid({"people": [message]})
        body = s.BulkEditSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        data = body.validated_data
        if data["action"] == "set" and not data.get("destination", "").strip():
            raise errors.invalid({"destination": ["Enter where the calls should go."]})
        if not data["dry_run"]:
            require_mfa(request.user)
        plan = bulk_selectors.plan_edit(org, data["people"], feature=data["feature"],
                                        action=data["action"],
                                        destination=data.get("destination", ""))
        if data["dry_run"]:
            return Response(s.DryRunSerializer(dry_run_data(plan, via)).data)
        job = jobs.job_create(org=org, plan=plan, actor=self.actor(via), kind=BulkJob.EDIT,
                              description=bulk_selectors.edit_description(data))
        return _job_created(request, job)


class BulkJobList(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_list", parameters=[JobFilters],
                   responses={200: s.BulkJobSerializer(many=True), **error_responses(400, 404)},
                   summary="Bulk jobs of the orgs the caller administers, newest first")
    def get(self, request):
        params = self.query(JobFilters)
        page = self.paginate_queryset(
            bulk_selectors.jobs_for(request.user, org_id=params.get("org")))
        progress = bulk_selectors.jobs_progress(page)
        return self.get_paginated_response(s.BulkJobSerializer(
            [job_data(job, progress[job.pk]) for job in page], many=True).data)


class BulkJobDetail(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_retrieve",
                   responses={200: s.BulkJobSerializer, **error_responses(404)})
    def get(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        return Response(s.BulkJobSerializer(job_data(job)).data)


def row_data(row) -> dict:
    return {"line": row.line, "key": row.key, "person": row.person_id,
            "person_label": row.person_label, "status": row.status,
            "outcome": bulk_selectors.row_outcome(row), "changes": row.changes,
            "errors": row.errors, "new_version": row.new_version,
            "finished_at": row.finished_at}


class BulkJobRows(PortalAPIView):
    serializer_class = s.BulkJobRowSerializer

    @extend_schema(operation_id="bulk_jobs_rows", parameters=[RowFilters],
                   responses={200: s.BulkJobRowSerializer(many=True),
                              **error_responses(400, 404)},
                   summary="Each row of a job and its outcome (push included)")
    def get(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        params = self.query(RowFilters)
        page = self.paginate_queryset(bulk_selectors.job_rows(job, status=params.get("status")))
        return self.get_paginated_response(
            s.BulkJobRowSerializer([row_data(r) for r in page], many=True).data)


class BulkJobUndo(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_undo", request=None,
                   responses={202: s.BulkJobSerializer, **error_responses(400, 403, 404)},
                   summary="Give everyone the job changed their previous settings (a new job)")
    def post(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        require_mfa(request.user)
        undo = jobs.job_undo(job=job, actor=self.actor(access.partner_for(request.user,
                                                                           job.org)))
        return _job_created(request, undo)
