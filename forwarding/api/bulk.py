"""The API of an org's bulk changes: the CSV export, the CSV import (a dry run, or a bulk
job straight away) and the bulk edit of one forwarding type for many people. Who may act:
the org's admins, own or through a partner delegation (`portal.access`); starting a job
needs TOTP."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from forwarding.api import answers, errors
from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.bulk_jobs import job_created
from forwarding.api.drafts import LOOPS_NOT_CONFIRMED, import_dry_run
from forwarding.api.errors import error_responses
from forwarding.bulk import drafts, jobs
from forwarding.bulk.plan import NOBODY_CAN, edit_description, edit_refusal, plan_edit
from forwarding.models import BulkJob
from forwarding.pages.bulk_forms import too_many_people
from forwarding.pages.bulk_views import csv_response, upload_too_large
from portal import access


def require_loops_confirmed(plan, confirmed: bool) -> None:
    """A 400 asking for confirm_loops when the plan's changes loop in some conditions
    (the job would apply them as confirmed); the rows' warnings come with it."""
    if confirmed or not plan.warned:
        return
    exc = drafts.LoopsNotConfirmed(plan.warned)
    reasons = {"confirm_loops": [exc.message]}
    for row in plan.rows:
        if row.valid and row.changed:
            for field, messages in row.warnings.items():
                reasons.setdefault(f"rows-{row.line}-{field}", []).extend(messages)
    raise errors.invalid(reasons, LOOPS_NOT_CONFIRMED, confirm="confirm_loops")


class OrganizationExport(PortalAPIView):
    @extend_schema(operation_id="organizations_export",
                   responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(404)},
                   summary="Everyone's forwarding as CSV (the import format)")
    def get(self, request, pk):
        org, _via = access.admin_org_or_404(request.user, pk)
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
        org, via = access.admin_org_or_404(request.user, pk)
        body = s.ImportSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        upload = body.validated_data["file"]
        if (message := upload_too_large(upload.size)) is not None:
            raise errors.invalid({"file": [message]}, "The file cannot be imported.")
        if body.validated_data["dry_run"]:
            return import_dry_run(self, org, via, upload)
        require_mfa(request.user)
        plan = drafts.plan_without_draft(org, upload.read())
        if plan.file_errors:
            raise errors.invalid({"file": plan.file_errors}, "The file cannot be imported.")
        require_loops_confirmed(plan, body.validated_data["confirm_loops"])
        job = jobs.job_create(org=org, plan=plan, actor=self.actor(via), kind=BulkJob.IMPORT,
                              description=f"Import of {upload.name}", filename=upload.name)
        return job_created(job)


class OrganizationBulkEdit(PortalAPIView):
    @extend_schema(operation_id="organizations_bulk_edit", request=s.BulkEditSerializer,
                   responses={200: s.DryRunSerializer, 202: s.BulkJobSerializer,
                              **error_responses(400, 403, 404)},
                   summary="Set or turn off one forwarding type for many people")
    def post(self, request, pk):
        org, via = access.admin_org_or_404(request.user, pk)
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
        plan = plan_edit(org, data["people"], feature=data["feature"],
                         action=data["action"], destination=data.get("destination", ""))
        if data["dry_run"]:
            return Response(s.DryRunSerializer(answers.plan_dry_run(plan, via_partner=via)).data)
        if not plan.valid:
            # Invalid for everyone: a 400 with the reasons by field, and no job (a job
            # whose every row fails would only look like work done).
            reasons: dict[str, list[str]] = {}
            for field, message in edit_refusal(plan):
                reasons.setdefault(field or "non_field_errors", []).append(message)
            raise errors.invalid(reasons, NOBODY_CAN)
        require_loops_confirmed(plan, data["confirm_loops"])
        job = jobs.job_create(org=org, plan=plan, actor=self.actor(via), kind=BulkJob.EDIT,
                              description=edit_description(data))
        return job_created(job)

