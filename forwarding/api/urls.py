"""Routes of the REST API; mounted at /api/v1/ by portal.urls."""

from django.urls import path

from forwarding.api import (
    audit,
    bulk,
    bulk_jobs,
    drafts,
    events,
    member_permissions,
    orgs,
    people,
    policy,
)

urlpatterns = [
    path("people/", people.PeopleList.as_view(), name="api_people"),
    path("people/<int:pk>/", people.PersonDetail.as_view(), name="api_person"),
    path("people/<int:pk>/forwarding/", people.PersonForwarding.as_view(),
         name="api_person_forwarding"),
    path("people/<int:pk>/sync/", people.PersonSync.as_view(), name="api_person_sync"),
    path("people/<int:pk>/sync/retry/", people.PersonSyncRetry.as_view(),
         name="api_person_sync_retry"),
    path("audit-events/", audit.AuditEventList.as_view(), name="api_audit_events"),
    path("organizations/", orgs.OrganizationList.as_view(), name="api_organizations"),
    path("organizations/<int:pk>/", orgs.OrganizationDetail.as_view(),
         name="api_organization"),
    path("delegations/", orgs.DelegationList.as_view(), name="api_delegations"),
    path("delegations/<int:pk>/", orgs.DelegationDetail.as_view(), name="api_delegation"),
    path("delegations/<int:pk>/revoke/", orgs.DelegationRevoke.as_view(),
         name="api_delegation_revoke"),
]

urlpatterns += [
    path("organizations/<int:pk>/export/", bulk.OrganizationExport.as_view(),
         name="api_organization_export"),
    path("organizations/<int:pk>/import/", bulk.OrganizationImport.as_view(),
         name="api_organization_import"),
    path("organizations/<int:pk>/bulk-edit/", bulk.OrganizationBulkEdit.as_view(),
         name="api_organization_bulk_edit"),
    path("bulk-jobs/", bulk_jobs.BulkJobList.as_view(), name="api_bulk_jobs"),
    path("bulk-jobs/<int:pk>/", bulk_jobs.BulkJobDetail.as_view(), name="api_bulk_job"),
    path("bulk-jobs/<int:pk>/rows/", bulk_jobs.BulkJobRows.as_view(), name="api_bulk_job_rows"),
    path("bulk-jobs/<int:pk>/undo/", bulk_jobs.BulkJobUndo.as_view(), name="api_bulk_job_undo"),
    path("bulk-drafts/<int:pk>/", drafts.BulkDraftDetail.as_view(), name="api_bulk_draft"),
    path("bulk-drafts/<int:pk>/rows/", drafts.BulkDraftRows.as_view(),
         name="api_bulk_draft_rows"),
    path("bulk-drafts/<int:pk>/apply/", drafts.BulkDraftApply.as_view(),
         name="api_bulk_draft_apply"),
]

urlpatterns += [
    path("organizations/<int:pk>/audit-export/", events.AuditExport.as_view(),
         name="api_organization_audit_export"),
    path("organizations/<int:pk>/event-endpoints/", events.EventEndpointList.as_view(),
         name="api_event_endpoints"),
    path("organizations/<int:pk>/event-endpoints/<int:endpoint_id>/",
         events.EventEndpointDetail.as_view(), name="api_event_endpoint"),
    path("organizations/<int:pk>/event-endpoints/<int:endpoint_id>/rotate-secret/",
         events.EventEndpointRotate.as_view(), name="api_event_endpoint_rotate"),
    path("organizations/<int:pk>/event-endpoints/<int:endpoint_id>/test/",
         events.EventEndpointTest.as_view(), name="api_event_endpoint_test"),
    path("organizations/<int:pk>/event-endpoints/<int:endpoint_id>/deliveries/",
         events.EventEndpointDeliveries.as_view(), name="api_event_endpoint_deliveries"),
]

urlpatterns += [
    path("organizations/<int:pk>/policy/", policy.OrganizationPolicy.as_view(),
         name="api_policy"),
    path("organizations/<int:pk>/policy/exceptions/", policy.PolicyExceptionList.as_view(),
         name="api_policy_exceptions"),
    path("organizations/<int:pk>/policy/exceptions/<int:exception_id>/",
         policy.PolicyExceptionDetail.as_view(), name="api_policy_exception"),
    path("organizations/<int:pk>/policy/forbidden/", policy.PolicyForbidden.as_view(),
         name="api_policy_forbidden"),
    path("organizations/<int:pk>/member-permissions/",
         member_permissions.MemberPermissionsDetail.as_view(),
         name="api_organization_member_permissions"),
]
