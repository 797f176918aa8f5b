"""The API of CSV dry runs (forwarding.bulk.drafts): the answer to an import's dry run,
a dry run's state, its rows a page at a time, and applying it. A dry run is only ever
visible to the user who made it; for anybody else it does not exist (404)."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.response import Response

from forwarding.api import answers, errors
from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.bulk_jobs import job_created
from forwarding.api.errors import error_responses
from forwarding.bulk import drafts
from forwarding.models import BulkDraft
from portal import access

FILE_REFUSED = "The file cannot be imported."
LOOPS_NOT_CONFIRMED = ("Not applied: some changes make a forwarding loop in some conditions "
                       "(see the rows' warnings). Send confirm_loops: true to apply anyway.")


def _draft(request, pk) -> BulkDraft:
    try:
        return drafts.draft_for(request.user, pk)
    except drafts.DraftGone:
        raise Http404("No such dry run") from None


def dry_run_answer(view, draft: BulkDraft):
    """A ready dry run: its counters and its first page of rows (`rows_next` links the
    next page). One a worker still checks: 202 and where to follow it."""
    if draft.status == BulkDraft.FAILED:
        raise errors.invalid({"file": draft.file_errors}, FILE_REFUSED)
    if draft.status != BulkDraft.READY:
        return Response(s.BulkDraftSerializer(draft).data,
                        status=status.HTTP_202_ACCEPTED,
                        headers={"Location": reverse("api_bulk_draft", args=[draft.pk])})
    size = view.paginator.get_page_size(view.request)
    rows = list(drafts.draft_rows(draft, show="all")[:size + 1])
    rows_url = reverse("api_bulk_draft_rows", args=[draft.pk])
    rows_next = (view.request.build_absolute_uri(f"{rows_url}?show=all&page=2")
                 if len(rows) > size else None)
    return Response(s.DryRunSerializer(
        answers.draft_dry_run(draft, rows=rows[:size], rows_next=rows_next)).data)


def import_dry_run(view, org, via, upload):
    draft, problems = drafts.draft_create(
        org=org, user=view.request.user, via_partner=via, filename=upload.name,
        data=upload.read())
    if problems:
        raise errors.invalid({"file": problems}, FILE_REFUSED)
    return dry_run_answer(view, draft)


class BulkDraftDetail(PortalAPIView):
    serializer_class = s.BulkDraftSerializer

    @extend_schema(operation_id="bulk_drafts_retrieve",
                   responses={200: s.BulkDraftSerializer, **error_responses(404)},
                   summary="A dry run of an import: being checked, ready or failed")
    def get(self, request, pk):
        return Response(s.BulkDraftSerializer(_draft(request, pk)).data)


class DraftRowFilters(drf_serializers.Serializer):
    show = drf_serializers.ChoiceField(
        required=False, choices=[c for c in drafts.ROW_FILTERS if c],
        help_text="invalid, change or all; by default invalid rows and changes.")


class BulkDraftRows(PortalAPIView):
    serializer_class = s.DryRunRowSerializer

    @extend_schema(operation_id="bulk_drafts_rows", parameters=[DraftRowFilters],
                   responses={200: s.DryRunRowSerializer(many=True),
                              **error_responses(400, 404)},
                   summary="The rows of a ready dry run, a page at a time")
    def get(self, request, pk):
        draft = _draft(request, pk)
        params = self.query(DraftRowFilters)
        page = self.paginate_queryset(drafts.draft_rows(draft, show=params.get("show",
                                                                                     "")))
        return self.get_paginated_response(
            s.DryRunRowSerializer(page, many=True).data)


class BulkDraftApply(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_drafts_apply", request=s.DraftApplySerializer,
                   responses={202: s.BulkJobSerializer, **error_responses(400, 403, 404)},
                   summary="Apply a ready dry run: a bulk job; the dry run is used up")
    def post(self, request, pk):
        draft = _draft(request, pk)
        org, via = access.admin_org_or_404(request.user, draft.org_id)
        require_mfa(request.user)
        body = s.DraftApplySerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid(body.errors)
        try:
            job = drafts.draft_apply(draft_id=draft.pk, user=request.user, org=org,
                                     actor=self.actor(via),
                                     confirm_loops=body.validated_data["confirm_loops"])
        except drafts.DraftGone:
            raise Http404("No such dry run") from None
        except drafts.LoopsNotConfirmed as exc:
            raise errors.invalid({"confirm_loops": [exc.message]}, LOOPS_NOT_CONFIRMED,
                                 confirm="confirm_loops") from None
        return job_created(job)
