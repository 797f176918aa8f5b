"""Routes of the REST API; mounted at /api/v1/ by portal.urls."""

from django.urls import path

from forwarding.api import drafts, views

urlpatterns = [
    path("people/", views.PeopleList.as_view(), name="api_people"),
    path("people/<int:pk>/", views.PersonDetail.as_view(), name="api_person"),
    path("people/<int:pk>/forwarding/", views.PersonForwarding.as_view(),
         name="api_person_forwarding"),
    path("people/<int:pk>/sync/", views.PersonSync.as_view(), name="api_person_sync"),
    path("people/<int:pk>/sync/retry/", views.PersonSyncRetry.as_view(),
         name="api_person_sync_retry"),
    path("audit-events/", views.AuditEventList.as_view(), name="api_audit_events"),
    path("organizations/", views.OrganizationList.as_view(), name="api_organizations"),
    path("organizations/<int:pk>/", views.OrganizationDetail.as_view(),
         name="api_organization"),
    path("delegations/", views.DelegationList.as_view(), name="api_delegations"),
    path("delegations/<int:pk>/", views.DelegationDetail.as_view(), name="api_delegation"),
    path("delegations/<int:pk>/revoke/", views.DelegationRevoke.as_view(),
         name="api_delegation_revoke"),
]

urlpatterns += [
    path("organizations/<int:pk>/export/", views.OrganizationExport.as_view(),
         name="api_organization_export"),
    path("organizations/<int:pk>/import/", views.OrganizationImport.as_view(),
         name="api_organization_import"),
    path("organizations/<int:pk>/bulk-edit/", views.OrganizationBulkEdit.as_view(),
         name="api_organization_bulk_edit"),
    path("bulk-jobs/", views.BulkJobList.as_view(), name="api_bulk_jobs"),
    path("bulk-jobs/<int:pk>/", views.BulkJobDetail.as_view(), name="api_bulk_job"),
    path("bulk-jobs/<int:pk>/rows/", views.BulkJobRows.as_view(), name="api_bulk_job_rows"),
    path("bulk-jobs/<int:pk>/undo/", views.BulkJobUndo.as_view(), name="api_bulk_job_undo"),
    path("bulk-drafts/<int:pk>/", drafts.BulkDraftDetail.as_view(), name="api_bulk_draft"),
    path("bulk-drafts/<int:pk>/rows/", drafts.BulkDraftRows.as_view(),
         name="api_bulk_draft_rows"),
    path("bulk-drafts/<int:pk>/apply/", drafts.BulkDraftApply.as_view(),
         name="api_bulk_draft_apply"),
]
