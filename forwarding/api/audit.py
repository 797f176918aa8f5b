"""The API of the audit log: the events of the caller's orgs and own lines, newest first."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView
from forwarding.api.errors import error_responses
from forwarding.api.params import EventFilters
from forwarding.bulk import selectors as bulk_selectors


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
        return self.get_paginated_response(s.AuditEventSerializer(page, many=True).data)
