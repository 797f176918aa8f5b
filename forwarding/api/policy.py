"""The API of an org's destination policy: read and replace it, the people's exceptions,
and the people whose stored forwarding it forbids. The org's own admins only (changes
with TOTP), as on the pages: a partner acting for a customer is bound by the customer's
policy, it does not write it. Writes in forwarding.rules.policy_services."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from forwarding.api import errors
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.api.params import IdField
from forwarding.api.serializers.common import FlagField, TextField
from forwarding.models import PolicyException
from forwarding.rules import policy_checks, policy_services
from portal import access
from portal.models import Person

_PATTERNS_HELP = ("E.164 patterns: + and digits, ending in * for a prefix (+49*, +4930*, "
                  "+441632960000).")


class PolicySerializer(serializers.Serializer):
    exists = FlagField(
        read_only=True, help_text="False: no policy, every valid destination is allowed.")
    allow_internal = FlagField(default=True)
    allow_sip = FlagField(
        default=True, help_text="SIP addresses outside the org's SIP domains.")
    allow_national = FlagField(default=True)
    allow_mobile = FlagField(default=True)
    allow_international = FlagField(default=True)
    international_countries = serializers.ListField(
        child=TextField(max_length=8), default=list, max_length=300,
        help_text="ISO 3166 regions (DE, FR); empty: every country.")
    deny_patterns = serializers.ListField(child=TextField(max_length=40),
                                          default=list, max_length=300,
                                          help_text=_PATTERNS_HELP)
    allow_patterns = serializers.ListField(child=TextField(max_length=40),
                                           default=list, max_length=300,
                                           help_text=_PATTERNS_HELP)
    sip_domains = serializers.ListField(child=TextField(max_length=253),
                                        default=list, max_length=60)
    members_outside_org = FlagField(
        default=True, help_text="False: members' own edits may use internal destinations "
                                "only.")


class ExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    person = IdField(source="person_id")
    person_name = serializers.CharField(source="person.display_name", read_only=True)
    pattern = TextField(allow_blank=True, max_length=40, default="",
                                    help_text="Empty: any destination. " + _PATTERNS_HELP)
    note = TextField(allow_blank=True, max_length=200, default="")
    granted_by = serializers.CharField(source="granted_by_label", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class BreachSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person.id")
    person_name = serializers.CharField(source="person.display_name")
    feature = serializers.CharField()
    destination = serializers.CharField()
    reason = serializers.CharField()


class ForbiddenSerializer(serializers.Serializer):
    results = BreachSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null: no more.")


class _OwnOrg(PortalAPIView):
    pagination_class = None
    # Small JSON bodies only: a form encoding would read "0" as a boolean.
    parser_classes = [JSONParser]

    def org(self, pk, *, write=False):
        org = access.own_admin_org_or_404(self.request.user, pk)
        if write:
            require_mfa(self.request.user)
        return org


def _policy_body(org):
    row = policy_checks.policy_row(org)
    return {"exists": row is not None, **policy_services.policy_values(row)}


class OrganizationPolicy(_OwnOrg):
    serializer_class = PolicySerializer

    @extend_schema(operation_id="policy_retrieve",
                   responses={200: PolicySerializer, **error_responses(404)},
                   summary="The org's destination policy")
    def get(self, request, pk):
        return Response(PolicySerializer(_policy_body(self.org(pk))).data)

    @extend_schema(operation_id="policy_update", request=PolicySerializer,
                   responses={200: PolicySerializer, **error_responses(400, 403, 404)},
                   summary="Replace the org's destination policy (audited: policy.updated)")
    def put(self, request, pk):
        org = self.org(pk, write=True)
        body = PolicySerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        policy_services.policy_update(org=org, data=dict(body.validated_data),
                                      actor=self.actor())
        return Response(PolicySerializer(_policy_body(org)).data)

    @extend_schema(operation_id="policy_destroy",
                   responses={204: None, **error_responses(403, 404)},
                   summary="Remove the policy: every valid destination is allowed again")
    def delete(self, request, pk):
        org = self.org(pk, write=True)
        policy_services.policy_remove(org=org, actor=self.actor())
        return Response(status=204)


class PolicyExceptionList(_OwnOrg):
    serializer_class = ExceptionSerializer

    @extend_schema(operation_id="policy_exceptions_list",
                   responses={200: ExceptionSerializer(many=True), **error_responses(404)},
                   summary="The exceptions granted to the org's people")
    def get(self, request, pk):
        org = self.org(pk)
        return Response(ExceptionSerializer(policy_checks.org_exceptions(org)[:1000],
                                            many=True).data)

    @extend_schema(operation_id="policy_exceptions_create", request=ExceptionSerializer,
                   responses={201: ExceptionSerializer, **error_responses(400, 403, 404)},
                   summary="Grant a person an exception (audited: policy.exception_granted)")
    def post(self, request, pk):
        org = self.org(pk, write=True)
        body = ExceptionSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        data = body.validated_data
        person = Person.objects.filter(org=org, pk=data["person_id"]).first()
        if person is None:
            raise errors.invalid({"person": ["Nobody in this organization has this id."]})
        row = policy_services.exception_grant(person=person, pattern=data["pattern"],
                                              note=data["note"], actor=self.actor())
        return Response(ExceptionSerializer(row).data, status=201)


class PolicyExceptionDetail(_OwnOrg):
    serializer_class = ExceptionSerializer

    @extend_schema(operation_id="policy_exceptions_destroy",
                   responses={204: None, **error_responses(403, 404)},
                   summary="Revoke an exception (audited: policy.exception_revoked)")
    def delete(self, request, pk, exception_id):
        org = self.org(pk, write=True)
        row = PolicyException.objects.filter(org=org, pk=exception_id).select_related(
            "person").first()
        if row is None:
            raise Http404("No such exception")
        policy_services.exception_revoke(exception=row, actor=self.actor())
        return Response(status=204)


class PolicyForbidden(_OwnOrg):
    serializer_class = ForbiddenSerializer

    @extend_schema(
        operation_id="policy_forbidden_list",
        parameters=[OpenApiParameter("after", OpenApiTypes.INT, required=False,
                                     description="A person id: continue after it.")],
        responses={200: ForbiddenSerializer, **error_responses(400, 404)},
        summary="Whose stored forwarding the policy forbids, 50 people a page")
    def get(self, request, pk):
        org = self.org(pk)
        raw = request.query_params.get("after", "0") or "0"
        if not raw.isdigit() or len(raw) > 18:
            raise errors.invalid({"after": ["Enter a person id."]})
        breaches, after = policy_checks.forbidden_people(org, after_id=int(raw))
        return Response(ForbiddenSerializer({"results": breaches, "next_after": after}).data)
