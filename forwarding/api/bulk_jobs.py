"""The API of bulk jobs: the jobs of the orgs the caller administers, one job, its rows
and their outcome, and undo (a new job). Also the 202 answer every way of starting a job
gives (bulk edit, import, applying a dry run)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from forwarding.api import serializers as s
from forwarding.api.base import PortalAPIView, require_mfa
from forwarding.api.errors import error_responses
from forwarding.api.params import JobFilters, RowFilters
from forwarding.bulk import jobs
from forwarding.bulk import selectors as bulk_selectors
from portal import access


def job_created(job):
    return Response(s.BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED,
                    headers={"Location": reverse("api_bulk_job", args=[job.pk])})


class BulkJobList(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_list", parameters=[JobFilters],
                   responses={200: s.BulkJobSerializer(many=True), **error_responses(400, 404)},
                   summary="Bulk jobs of the orgs the caller administers, newest first")
    def get(self, request):
        params = self.query(JobFilters)
        page = self.paginate_queryset(
            bulk_selectors.jobs_for(request.user, org_id=params.get("org")))
        progress = bulk_selectors.jobs_progress(page)
        return self.get_paginated_response(s.BulkJobSerializer(
            page, many=True, context={"progress": progress}).data)


class BulkJobDetail(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_retrieve",
                   responses={200: s.BulkJobSerializer, **error_responses(404)})
    def get(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        return Response(s.BulkJobSerializer(job).data)


class BulkJobRows(PortalAPIView):
    serializer_class = s.BulkJobRowSerializer

    @extend_schema(operation_id="bulk_jobs_rows", parameters=[RowFilters],
                   responses={200: s.BulkJobRowSerializer(many=True),
                              **error_responses(400, 404)},
                   summary="Each row of a job and its outcome (push included)")
    def get(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        params = self.query(RowFilters)
        page = self.paginate_queryset(bulk_selectors.job_rows(job, status=params.get("status")))
        return self.get_paginated_response(
            s.BulkJobRowSerializer(page, many=True).data)


class BulkJobUndo(PortalAPIView):
    serializer_class = s.BulkJobSerializer

    @extend_schema(operation_id="bulk_jobs_undo", request=None,
                   responses={202: s.BulkJobSerializer, **error_responses(400, 403, 404)},
                   summary="Give everyone the job changed their previous settings (a new job)")
    def post(self, request, pk):
        job = bulk_selectors.job_for(request.user, pk)
        require_mfa(request.user)
        undo = jobs.job_undo(job=job, actor=self.actor(access.partner_for(request.user,
                                                                           job.org)))
        return job_created(undo)
