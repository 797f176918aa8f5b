"""The API of outgoing events (an org's endpoints, their secrets, test events and
deliveries) and of the audit log export. Endpoints are the org's own admins' (with TOTP),
as on the pages; the export is for whoever may read the org's audit log."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from forwarding.api import errors
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.pages.audit_export import stream
from portal import access
from portal.events import selectors, services
from portal.events.services import EndpointError


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    event_types = serializers.ListField(child=serializers.CharField(),
                                        help_text="Empty: every event type.")
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_blank=True)
    consecutive_failures = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_...: shown in this answer only.")


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64),
                                        required=False, max_length=50)


class EndpointPatchSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    response_excerpt = serializers.CharField(allow_blank=True)


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField(source="event.message_id",
                                       help_text="The event's webhook-id.")
    type = serializers.CharField(source="event.type")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptSerializer(many=True, source="attempt_log.all")


class ExportParams(serializers.Serializer):
    # Not `format`: DRF reads that one to choose its own renderer.
    file_format = serializers.ChoiceField(choices=["csv", "jsonl"], default="jsonl")
    since = serializers.DateTimeField(required=False, help_text="From (inclusive).")
    until = serializers.DateTimeField(required=False, help_text="Until (exclusive).")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": "Choose a time after `since`."})
        return attrs


def _invalid(exc: EndpointError):
    return errors.invalid({exc.field or "non_field_errors": [exc.message]})


class _OwnOrg(PortalAPIView):
    # Lists here are short (at most MAX_ENDPOINTS_PER_ORG endpoints, the latest
    # RECENT_DELIVERIES deliveries): plain arrays, not pages.
    pagination_class = None
    def org(self, pk, *, write=False):
        org = access.own_admin_org_or_404(self.request.user, pk)
        if write:
            require_mfa(self.request.user)
        return org

    def endpoint(self, org, endpoint_id):
        endpoint = selectors.endpoint_for(org, endpoint_id)
        if endpoint is None:
            raise Http404("No such endpoint")
        return endpoint


class EventEndpointList(_OwnOrg):
    serializer_class = EndpointSerializer

    @extend_schema(operation_id="event_endpoints_list",
                   responses={200: EndpointSerializer(many=True), **error_responses(404)},
                   summary="The org's event endpoints")
    def get(self, request, pk):
        org = self.org(pk)
        return Response(EndpointSerializer(selectors.endpoints_for(org), many=True).data)

    @extend_schema(operation_id="event_endpoints_create", request=EndpointCreateSerializer,
                   responses={201: EndpointWithSecretSerializer,
                              **error_responses(400, 403, 404)},
                   summary="Register an endpoint; the answer holds its secret, once")
    def post(self, request, pk):
        org = self.org(pk, write=True)
        body = EndpointCreateSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        try:
            endpoint, secret = services.endpoint_create(org=org, actor=self.actor(),
                                                        **body.validated_data)
        except EndpointError as exc:
            raise _invalid(exc) from None
        endpoint.secret = secret
        return Response(EndpointWithSecretSerializer(endpoint).data, status=201)


class EventEndpointDetail(_OwnOrg):
    serializer_class = EndpointSerializer

    @extend_schema(operation_id="event_endpoints_retrieve",
                   responses={200: EndpointSerializer, **error_responses(404)},
                   summary="One endpoint")
    def get(self, request, pk, endpoint_id):
        return Response(EndpointSerializer(self.endpoint(self.org(pk), endpoint_id)).data)

    @extend_schema(operation_id="event_endpoints_partial_update",
                   request=EndpointPatchSerializer,
                   responses={200: EndpointSerializer, **error_responses(400, 403, 404)},
                   summary="Enable or disable an endpoint")
    def patch(self, request, pk, endpoint_id):
        org = self.org(pk, write=True)
        endpoint = self.endpoint(org, endpoint_id)
        body = EndpointPatchSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        services.endpoint_set_enabled(endpoint=endpoint, enabled=body.validated_data["enabled"],
                                      actor=self.actor())
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(operation_id="event_endpoints_destroy",
                   responses={204: None, **error_responses(403, 404)},
                   summary="Remove an endpoint")
    def delete(self, request, pk, endpoint_id):
        org = self.org(pk, write=True)
        services.endpoint_delete(endpoint=self.endpoint(org, endpoint_id), actor=self.actor())
        return Response(status=204)


class EventEndpointRotate(_OwnOrg):
    serializer_class = EndpointWithSecretSerializer

    @extend_schema(operation_id="event_endpoints_rotate_secret", request=None,
                   responses={200: EndpointWithSecretSerializer, **error_responses(403, 404)},
                   summary="A new secret (the old one also signs for 24 hours)")
    def post(self, request, pk, endpoint_id):
        org = self.org(pk, write=True)
        endpoint = self.endpoint(org, endpoint_id)
        endpoint.secret = services.endpoint_rotate_secret(endpoint=endpoint, actor=self.actor())
        return Response(EndpointWithSecretSerializer(endpoint).data)


class EventEndpointTest(_OwnOrg):
    serializer_class = DeliverySerializer

    @extend_schema(operation_id="event_endpoints_test", request=None,
                   responses={202: DeliverySerializer, **error_responses(400, 403, 404)},
                   summary="Queue a test event to this endpoint")
    def post(self, request, pk, endpoint_id):
        org = self.org(pk, write=True)
        endpoint = self.endpoint(org, endpoint_id)
        try:
            event = services.send_test(endpoint=endpoint, actor=self.actor())
        except EndpointError as exc:
            raise _invalid(exc) from None
        return Response(DeliverySerializer(event.deliveries.get()).data, status=202)


class EventEndpointDeliveries(_OwnOrg):
    serializer_class = DeliverySerializer

    @extend_schema(operation_id="event_endpoints_deliveries",
                   responses={200: DeliverySerializer(many=True), **error_responses(404)},
                   summary="The endpoint's recent deliveries with their attempts")
    def get(self, request, pk, endpoint_id):
        endpoint = self.endpoint(self.org(pk), endpoint_id)
        return Response(DeliverySerializer(selectors.recent_deliveries(endpoint),
                                           many=True).data)


class AuditExport(PortalAPIView):
    @extend_schema(operation_id="organizations_audit_export", parameters=[ExportParams],
                   responses={(200, "application/jsonl"): OpenApiTypes.STR,
                              (200, "text/csv"): OpenApiTypes.STR,
                              **error_responses(400, 404)},
                   summary="The org's audit log in a date range, streamed (CSV or JSON Lines)")
    def get(self, request, pk):
        org, _via = access.admin_org_or_404(request.user, pk)
        params = self.query(ExportParams)
        return stream(org, params.get("file_format", "jsonl"), since=params.get("since"),
                      until=params.get("until"))
