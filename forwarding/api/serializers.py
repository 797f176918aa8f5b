"""Shapes of the API's requests and answers. Thin: they parse JSON types and describe the
answers for OpenAPI; every rule about forwarding values lives in `forwarding.rules.validation`
and runs in the service (so the API refuses exactly what the forms refuse, in the same
words). Where an answer is one row's fields (an audit event, a delegation, a bulk job's
row) the serializer reads the model itself; answers put together from several sources (a
person with their sync state, a job with its progress) are dicts built by the view modules.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forwarding.api.params import INT_MAX, IdField, VersionField, WholeNumberField, sent_as_json
from forwarding.bulk import selectors as bulk_selectors
from forwarding.models import BulkDraft, BulkJob, BulkJobRow, SyncStatus
from portal import audit
from providers.capabilities import FEATURES
from providers.registry import KIND_CHOICES


def named_choice(component, choices, *, read=None, **kwargs):
    """A ChoiceField documented as its own enum component `component`: several answers
    have a `status` with different values, which drf-spectacular would otherwise name
    after a hash. `read`, when given, makes the value out of what the field's source
    holds (with `source="*"`: the object itself)."""
    values = [c[0] if isinstance(c, tuple | list) else c for c in choices]

    @extend_schema_field({"type": "string", "enum": values}, component_name=component)
    class NamedChoiceField(serializers.ChoiceField):
        def to_representation(self, value):
            return super().to_representation(read(value) if read is not None else value)

    return NamedChoiceField(choices=values, **kwargs)


class OrgRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ActingMixin(serializers.Serializer):
    """On whose behalf the caller acts: both null unless through a partner delegation."""

    via_partner = OrgRefSerializer(
        allow_null=True, help_text="The partner org the caller acts for, through a "
        "delegation; null when the caller acts as the person or as the org's own admin.")
    acting_for = OrgRefSerializer(
        allow_null=True, help_text="The customer org the partner acts on; null unless "
        "via_partner is set.")


# --- people and sync state --------------------------------------------------------------------


class SyncSerializer(serializers.Serializer):
    status = named_choice("SyncStatus", [*SyncStatus.values, "none"],
                          help_text="none: the portal holds no settings for this person yet.")
    label = serializers.CharField()
    details = serializers.ListField(child=serializers.CharField())
    delivery = serializers.ChoiceField(choices=["push", "call_time", "manifest"])
    version = serializers.IntegerField(allow_null=True)
    synced_version = serializers.IntegerField(allow_null=True)
    behind = serializers.BooleanField(help_text="The provider does not have the latest "
                                      "version yet.")
    attempts = serializers.IntegerField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_synced_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class PersonSyncSerializer(SyncSerializer, ActingMixin):
    """A person's sync state, and on whose behalf the caller acts on it."""


class PersonSerializer(ActingMixin):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    phone_number = serializers.CharField(allow_blank=True)
    extension = serializers.CharField(allow_blank=True)
    sip_uri = serializers.CharField(allow_blank=True)
    provider_person_id = serializers.CharField()
    org = OrgRefSerializer()
    provider_kind = serializers.ChoiceField(choices=KIND_CHOICES)
    is_self = serializers.BooleanField(help_text="This line belongs to the caller.")
    summary = serializers.CharField(help_text="What is on, in a few words.")
    sync = SyncSerializer()


# --- forwarding settings ----------------------------------------------------------------------


class TextField(serializers.CharField):
    """A string sent as a JSON string. DRF's CharField also takes 0 or 1.5 and makes "0" of
    it, which the schema (`type: string`) calls invalid: a number where a destination or
    a disposition belongs is a mistake to refuse, not to guess at."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _destination(**kwargs):
    # No length or format checks here: validation.normalize_destination says what is wrong.
    return TextField(required=False, allow_blank=True, allow_null=True,
                     trim_whitespace=False, **kwargs)


class FlagField(serializers.BooleanField):
    """true or false. In a JSON body DRF's BooleanField would also take 0, 1, "yes" or
    "on", which the schema (`type: boolean`) calls invalid; a form body has only text, so
    there the words still count."""

    def to_internal_value(self, data):
        if sent_as_json(self) and not isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


def _flag():
    return FlagField(required=False)


def _count(**kwargs):
    # The range of an integer column; the provider's own limits, with their messages, are
    # forwarding.rules.validation's.
    return WholeNumberField(min_value=0, max_value=INT_MAX, required=False, allow_null=True,
                            **kwargs)


class CallerRuleSerializer(serializers.Serializer):
    callers = serializers.ListField(child=TextField(allow_blank=True),
                                    required=False, help_text="Numbers or SIP URIs.")
    match_anonymous = _flag()
    destination = _destination()
    disposition = TextField(required=False, help_text="forward or redirect.")
    mask_caller = _flag()
    mask_callee = _flag()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    org = OrgRefSerializer()


class ForwardingSerializer(ActingMixin):
    """A person's forwarding. Send it back with PUT (omitted settings are off/empty) or
    just the settings to change with PATCH; read-only fields sent back are ignored;
    any other unknown field is refused."""

    version = VersionField(
        required=False, help_text="The version you read. Required on PUT/PATCH unless an "
        "If-Match header carries it.")

    always_enabled = _flag()
    always_destination = _destination()
    always_ring_reminder = _flag()
    always_voicemail = _flag()
    busy_enabled = _flag()
    busy_destination = _destination()
    busy_voicemail = _flag()
    no_answer_enabled = _flag()
    no_answer_destination = _destination()
    no_answer_ring_after = _count(
        help_text="In the provider's unit (rings for "
        "Webex, seconds for Skype for Business).")
    no_answer_voicemail = _flag()
    continuity_enabled = _flag()
    continuity_destination = _destination()
    continuity_voicemail = _flag()
    simring_enabled = _flag()
    simring_targets = serializers.ListField(
        child=TextField(allow_blank=True, trim_whitespace=False), required=False)
    simring_timeout = _count(help_text="Seconds.")
    window_enabled = _flag()
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    window_destination = _destination()
    caller_rules = CallerRuleSerializer(many=True, required=False)

    person = PersonRefSerializer(read_only=True)
    window_state = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by_label = serializers.CharField(read_only=True)
    supported_features = serializers.ListField(
        child=serializers.ChoiceField(choices=FEATURES), read_only=True)
    sync = SyncSerializer(read_only=True)
    via_partner = OrgRefSerializer(read_only=True, allow_null=True)
    acting_for = OrgRefSerializer(read_only=True, allow_null=True)



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


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provider_kind = serializers.ChoiceField(choices=KIND_CHOICES)
    provider_label = serializers.CharField()
    role = serializers.ChoiceField(
        choices=["admin", "partner", "member"],
        help_text="admin: the caller administers it; partner: through a delegation; "
        "member: the caller only has their own line(s) there.")
    via_partner = OrgRefSerializer(allow_null=True)
    people_count = serializers.IntegerField(allow_null=True, help_text="Null for members.")
    failed_count = serializers.IntegerField(
        allow_null=True, help_text="People whose latest push failed for good.")
    pending_count = serializers.IntegerField(
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


# --- bulk jobs --------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    applied = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    pushed = serializers.IntegerField()
    push_failed = serializers.IntegerField()
    settled = serializers.BooleanField(help_text="Every row processed and every applied "
                                       "change delivered (or failed for good).")


class BulkJobSerializer(ActingMixin):
    id = serializers.IntegerField()
    org = OrgRefSerializer()
    kind = named_choice("BulkJobKind", BulkJob.KINDS)
    status = named_choice("BulkJobStatus", BulkJob.STATUSES)
    description = serializers.CharField(allow_blank=True)
    filename = serializers.CharField(allow_blank=True)
    created_by = serializers.CharField(help_text="Who started it (label kept after the "
                                       "user is deleted).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    undo_of = serializers.IntegerField(allow_null=True)
    undone_by = serializers.ListField(child=serializers.IntegerField())
    stopped_reason = serializers.CharField(
        allow_blank=True, help_text="Why a stopped job stopped (its creator lost access).")
    correlation_id = serializers.CharField(help_text="Audit rows of this job carry it.")
    progress = ProgressSerializer()


# Reads a BulkJobRow; its outcome (push included) is `bulk_selectors.row_outcome`'s.
class BulkJobRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    key = serializers.CharField(allow_blank=True)
    person = serializers.IntegerField(source="person_id", allow_null=True)
    person_label = serializers.CharField(allow_blank=True)
    status = named_choice("BulkJobRowStatus", BulkJobRow.STATUSES)
    outcome = named_choice("BulkJobRowOutcome", [*(s for s, _ in BulkJobRow.STATUSES),
                                                 "pushed", "push_failed"],
                           source="*", read=bulk_selectors.row_outcome)
    changes = serializers.JSONField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    new_version = serializers.IntegerField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class DryRunRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    key = serializers.CharField(allow_blank=True)
    person = serializers.IntegerField(allow_null=True)
    person_label = serializers.CharField(allow_blank=True)
    valid = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    changes = ChangeSerializer(many=True)
    kind = serializers.ChoiceField(choices=["invalid", "change", "unchanged"], required=False)


class DryRunSerializer(ActingMixin):
    org = OrgRefSerializer()
    total = serializers.IntegerField()
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    changing = serializers.IntegerField(help_text="Valid rows that would change something.")
    errors = serializers.ListField(child=serializers.CharField(),
                                   help_text="Problems with the file as a whole.")
    rows = DryRunRowSerializer(many=True, help_text="A CSV import's dry run: its first "
                               "page of rows (`rows_next` links the next); a bulk edit's: all.")
    draft = serializers.IntegerField(allow_null=True, help_text="The stored dry run of a "
                                     "CSV import (POST /api/v1/bulk-drafts/{id}/apply/).")
    expires_at = serializers.DateTimeField(allow_null=True)
    rows_next = serializers.CharField(allow_null=True)


class BulkDraftSerializer(ActingMixin):
    id = serializers.IntegerField()
    org = OrgRefSerializer()
    status = named_choice("BulkDraftStatus", BulkDraft.STATUSES)
    filename = serializers.CharField(allow_blank=True)
    rows_total = serializers.IntegerField(help_text="Data rows of the file.")
    rows_done = serializers.IntegerField(help_text="Rows checked so far.")
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    changing = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField(),
                                   help_text="Why the dry run failed, when it did.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    rows_url = serializers.CharField()


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8), see docs/bulk-and-api.md.")
    dry_run = FlagField(default=True, help_text="true: only check and show "
                                       "what would change; false: create the bulk job.")


class BulkEditSerializer(serializers.Serializer):
    # At most BULK_EDIT_MAX_PEOPLE ids: checked by the view, which reads the setting per
    # request, before any id is looked up.
    people = serializers.ListField(child=IdField(), allow_empty=False,
                                   help_text="Ids of people; at most BULK_EDIT_MAX_PEOPLE "
                                   "(1,000 by default).")
    feature = serializers.ChoiceField(choices=["always", "busy", "no_answer", "continuity"])
    action = serializers.ChoiceField(choices=["set", "off"])
    destination = TextField(required=False, allow_blank=True, trim_whitespace=False,
                            help_text="Where calls go; needed with set.")
    dry_run = FlagField(default=False)
