"""The API of organizations and delegations: the orgs the caller belongs to or acts on
(with their sync health), and the delegations their orgs granted or received, granted
and revoked by a customer org's own admins."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from forwarding.api import errors
from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.api.params import DelegationFilters
from forwarding.bulk import selectors as bulk_selectors
from portal import access
from portal import org_services as portal_services_org
from portal import services as portal_services
from portal.forms import UNKNOWN_PARTNER_CODE
from portal.models import Delegation
from portal.models.tenancy import partner_by_code

# --- organizations ----------------------------------------------------------------------------


class OrganizationList(PortalAPIView):
    serializer_class = s.OrganizationSerializer
    pagination_class = None

    @extend_schema(operation_id="organizations_list",
                   responses={200: s.OrganizationSerializer(many=True), **error_responses()},
                   summary="Orgs the caller belongs to or acts on, with their sync health")
    def get(self, request):
        orgs = bulk_selectors.orgs_for(request.user)
        return Response(s.OrganizationSerializer(orgs, many=True).data)


def _visible_org(user, pk):
    for org in bulk_selectors.orgs_for(user):
        if org.id == pk:
            return org
    raise Http404("No such organization")


class OrganizationDetail(PortalAPIView):
    serializer_class = s.OrganizationSerializer

    @extend_schema(operation_id="organizations_retrieve",
                   responses={200: s.OrganizationSerializer, **error_responses(404)})
    def get(self, request, pk):
        return Response(s.OrganizationSerializer(_visible_org(request.user, pk)).data)

    @extend_schema(operation_id="organizations_partial_update", request=s.TimeZoneSerializer,
                   responses={200: s.OrganizationSerializer,
                              **error_responses(400, 403, 404)},
                   summary="Change the org's time zone (its admins, or a partner acting "
                   "for it)")
    def patch(self, request, pk):
        org = _visible_org(request.user, pk)
        if org.role == "member":
            raise exceptions.PermissionDenied("Only the organization's admins can change it.")
        require_mfa(request.user)
        serializer = s.TimeZoneSerializer(data=request.data)
        if not isinstance(request.data, dict) or not serializer.is_valid():
            raise errors.invalid(serializer.errors if isinstance(request.data, dict)
                                 else {"non_field_errors": ["Send a JSON object."]})
        name = serializer.validated_data["time_zone"]
        if not name:
            raise errors.invalid({"time_zone": ["An organization needs a time zone, such as "
                                                "Europe/Berlin."]})
        try:
            portal_services_org.organization_update(
                org=org, changes={"time_zone": name}, actor=self.actor(org.via_partner))
        except ValidationError as exc:
            raise errors.invalid(errors.django_errors(exc)) from None
        return Response(s.OrganizationSerializer(_visible_org(request.user, pk)).data)


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
            s.DelegationSerializer(page, many=True).data)

    @extend_schema(operation_id="delegations_create", request=s.DelegationGrantSerializer,
                   responses={201: s.DelegationSerializer, **error_responses(400, 403, 404)},
                   summary="A customer org's own admin lets a partner org act for it")
    def post(self, request):
        body = s.DelegationGrantSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        # 404 unless they administer it; 403 when only through a partner delegation.
        customer, via = access.admin_org_or_404(request.user, body.validated_data["customer"])
        if via is not None:
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
        return Response(s.DelegationSerializer(delegation).data,
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
        return Response(s.DelegationSerializer(delegation).data)


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
        return Response(s.DelegationSerializer(delegation).data)

