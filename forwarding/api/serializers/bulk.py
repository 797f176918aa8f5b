"""Shapes of the bulk answers (jobs, their rows, dry runs and stored dry runs) and of the
bulk requests (import, bulk edit)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forwarding.api.params import IdField
from forwarding.api.serializers.common import (
    ActingMixin,
    FlagField,
    OrgRefSerializer,
    TextField,
    named_choice,
)
from forwarding.bulk import selectors as bulk_selectors
from forwarding.models import BulkDraft, BulkJob, BulkJobRow


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



# The counters of the job read: from the serializer's context `progress` (job id ->
# counters, one query for a page of jobs), else one query for this job.
@extend_schema_field(ProgressSerializer)
class JobProgressField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, value):
        progress = self.context.get("progress", {}).get(value.pk)
        if progress is None:
            progress = bulk_selectors.job_progress(value)
        return ProgressSerializer(progress).data


class IdListField(serializers.ListField):
    """The ids of the rows a related manager holds."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(), **kwargs)

    def to_representation(self, data):
        return [row.pk for row in data.all()]


# Reads a BulkJob.
class BulkJobSerializer(ActingMixin):
    id = serializers.IntegerField(source="pk")
    org = OrgRefSerializer()
    kind = named_choice("BulkJobKind", BulkJob.KINDS)
    status = named_choice("BulkJobStatus", BulkJob.STATUSES)
    description = serializers.CharField(allow_blank=True)
    filename = serializers.CharField(allow_blank=True)
    created_by = serializers.CharField(source="created_by_label", help_text="Who started it "
                                       "(label kept after the user is deleted).")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    undo_of = serializers.IntegerField(source="undo_of_id", allow_null=True)
    undone_by = IdListField()
    stopped_reason = serializers.CharField(
        allow_blank=True, help_text="Why a stopped job stopped (its creator lost access).")
    correlation_id = serializers.CharField(help_text="Audit rows of this job carry it.")
    progress = JobProgressField()


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


# Reads a row of a dry run: a bulk.plan.PlanRow (no `kind`) or a stored BulkDraftRow.
class DryRunRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    key = serializers.CharField(allow_blank=True)
    person = serializers.IntegerField(source="person_id", allow_null=True)
    person_label = serializers.CharField(allow_blank=True)
    valid = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    changes = ChangeSerializer(source="diff", many=True)
    kind = serializers.ChoiceField(choices=["invalid", "change", "unchanged"], required=False)
    warnings = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Forwarding loops the change makes through busy, no answer or offline "
        "forwarding, by field. Applying a dry run with any needs confirm_loops: true.")


# Reads an answers.DryRunAnswer.
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



class DraftRowsUrlField(serializers.CharField):
    """Where the rows of the stored dry run read are listed."""

    def get_attribute(self, instance):
        return reverse("api_bulk_draft_rows", args=[instance.pk])


# Reads a BulkDraft.
class BulkDraftSerializer(ActingMixin):
    id = serializers.IntegerField(source="pk")
    org = OrgRefSerializer()
    status = named_choice("BulkDraftStatus", BulkDraft.STATUSES)
    filename = serializers.CharField(allow_blank=True)
    rows_total = serializers.IntegerField(help_text="Data rows of the file.")
    rows_done = serializers.IntegerField(help_text="Rows checked so far.")
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    changing = serializers.IntegerField()
    warned = serializers.IntegerField(help_text="Changes with loop warnings: applying "
                                      "needs confirm_loops: true while above 0.")
    errors = serializers.ListField(source="file_errors", child=serializers.CharField(),
                                   help_text="Why the dry run failed, when it did.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    rows_url = DraftRowsUrlField()


def _confirm_loops(what: str):
    return FlagField(
        required=False, default=False,
        help_text="Apply even though some changes make a forwarding loop through busy, "
        f"no answer or offline forwarding (the rows' `warnings`). Without it {what} "
        "answers 400 with `confirm: \"confirm_loops\"` and nothing is applied.")


class DraftApplySerializer(serializers.Serializer):
    confirm_loops = _confirm_loops("such a dry run")


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8), see docs/bulk-and-api.md.")
    dry_run = FlagField(default=True, help_text="true: only check and show "
                                       "what would change; false: create the bulk job.")
    confirm_loops = _confirm_loops("an import with dry_run=false")


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
    confirm_loops = _confirm_loops("a bulk edit that is not a dry run")
