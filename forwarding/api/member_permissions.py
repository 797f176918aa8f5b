"""The API of what an org's members may change themselves (issue 18, item 2): read and
replace the org's locked features. Its admins and partner admins acting for it, as the
org page; replacing needs TOTP. The write is
forwarding.rules.permissions.member_permissions_update (audited)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from forwarding.api import errors
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.models import MEMBER_FEATURES
from forwarding.rules import permissions
from portal import access


class MemberPermissionsSerializer(serializers.Serializer):
    locked = serializers.ListField(
        child=serializers.ChoiceField(choices=MEMBER_FEATURES),
        help_text="Features members may not change on their own line (read-only for them); "
        "admins still change them for anyone. Empty: members change everything.")
    allowed = serializers.ListField(child=serializers.ChoiceField(choices=MEMBER_FEATURES),
                                    read_only=True,
                                    help_text="The other features: members change them.")
    updated_at = serializers.DateTimeField(allow_null=True, read_only=True)
    updated_by = serializers.CharField(read_only=True,
                                       help_text="Who last changed them (empty: nobody yet).")


class MemberPermissionsPut(serializers.Serializer):
    locked = serializers.ListField(child=serializers.ChoiceField(choices=MEMBER_FEATURES),
                                   max_length=len(MEMBER_FEATURES) * 2)


def _body(org) -> dict:
    row = permissions.stored(org)
    locked = list(row.locked) if row is not None else []
    return {
        "locked": locked,
        "allowed": [f for f in MEMBER_FEATURES if f not in locked],
        "updated_at": row.updated_at if row is not None else None,
        "updated_by": row.updated_by_label if row is not None else "",
    }


class MemberPermissionsDetail(PortalAPIView):
    serializer_class = MemberPermissionsSerializer
    parser_classes = [JSONParser]

    @extend_schema(operation_id="organizations_member_permissions_retrieve",
                   responses={200: MemberPermissionsSerializer, **error_responses(404)},
                   summary="What members of the org may change themselves (its admins)")
    def get(self, request, pk):
        org, _via = access.admin_org_or_404(request.user, pk)
        return Response(MemberPermissionsSerializer(_body(org)).data)

    @extend_schema(operation_id="organizations_member_permissions_update",
                   request=MemberPermissionsPut,
                   responses={200: MemberPermissionsSerializer,
                              **error_responses(400, 403, 404)},
                   summary="Replace the features members may not change themselves")
    def put(self, request, pk):
        org, via = access.admin_org_or_404(request.user, pk)
        require_mfa(request.user)
        body = MemberPermissionsPut(data=request.data)
        if not isinstance(request.data, dict) or not body.is_valid():
            raise errors.invalid(body.errors if isinstance(request.data, dict)
                                 else {"non_field_errors": ["Send a JSON object."]})
        try:
            permissions.member_permissions_update(
                org=org, locked=body.validated_data["locked"], actor=self.actor(via))
        except ValidationError as exc:
            raise errors.invalid(errors.django_errors(exc)) from None
        return Response(MemberPermissionsSerializer(_body(org)).data)
