"""Shapes of the audit, organization and delegation answers; each reads a model row."""

from __future__ import annotations

from rest_framework import serializers

from forwarding.api.params import IdField
from forwarding.api.serializers.common import OrgRefSerializer
from portal import audit
from providers.registry import KIND_CHOICES

# --- audit events -----------------------------------------------------------------------------


class EventLabelField(serializers.CharField):
    """The words for the event code it reads (`portal.audit.event_label`)."""

    def to_representation(self, value):
        return audit.event_label(value)


# Reads an AuditEvent row (no docstring: it would become the schema's description).
class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    event = serializers.CharField(help_text="Stable event code, e.g. forwarding.updated.")
    label = EventLabelField(source="event", help_text="The event in words.")
    org = OrgRefSerializer(allow_null=True)
    actor = serializers.IntegerField(source="actor_id", allow_null=True,
                                     help_text="User id; null: system.")
    actor_label = serializers.CharField()
    via_partner = OrgRefSerializer(allow_null=True, help_text="The partner org on whose "
                                   "behalf the actor acted.")
    ip = serializers.CharField(allow_null=True)
    person = serializers.IntegerField(source="person_id", allow_null=True)
    person_label = serializers.CharField(allow_blank=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    data = serializers.JSONField()
    correlation_id = serializers.CharField(allow_blank=True)


# --- organizations and delegations ------------------------------------------------------------


class AdminCountField(serializers.IntegerField):
    """A health count of the org read, or null when the caller is only a member there."""

    def get_attribute(self, instance):
        return None if instance.role == "member" else super().get_attribute(instance)


# Reads an Organization of bulk.selectors.orgs_for (with `role`, `via_partner` and the
# health counts).
class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provider_kind = serializers.ChoiceField(choices=KIND_CHOICES)
    provider_label = serializers.CharField(source="capabilities.label")
    time_zone = serializers.CharField(help_text=(
        "IANA zone in which the org's people without a zone of their own enter and read "
        "times on the pages. API times are ISO 8601 with an offset whatever it is."))
    role = serializers.ChoiceField(
        choices=["admin", "partner", "member"],
        help_text="admin: the caller administers it; partner: through a delegation; "
        "member: the caller only has their own line(s) there.")
    via_partner = OrgRefSerializer(allow_null=True)
    people_count = AdminCountField(allow_null=True, help_text="Null for members.")
    failed_count = AdminCountField(
        allow_null=True, help_text="People whose latest push failed for good.")
    pending_count = AdminCountField(
        allow_null=True, help_text="People with a change still on its way to the provider.")


# Reads a Delegation row; the users who granted and revoked it appear by their names.
class DelegationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = OrgRefSerializer()
    partner = OrgRefSerializer()
    active = serializers.BooleanField()
    granted_at = serializers.DateTimeField()
    granted_by = serializers.CharField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(allow_null=True)


class DelegationGrantSerializer(serializers.Serializer):
    customer = IdField(help_text="Your org, which delegates.")
    partner_code = serializers.CharField(
        max_length=64, help_text="The partner code of the org that may then act (shown to "
        "that org's admins on its settings page).")

