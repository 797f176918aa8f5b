"""Forwarding pages; included at the site root by portal.urls."""

from django.urls import path

from forwarding.pages import audit_export, bulk_views, draft_views, policy_views, views

urlpatterns = [
    path("me/", views.my_forwarding, name="my_forwarding"),
    path("orgs/<int:org_id>/people/", views.org_people, name="org_people"),
    path("orgs/<int:org_id>/audit/", views.org_audit, name="org_audit"),
    path("orgs/<int:org_id>/audit/export/", audit_export.org_audit_export,
         name="org_audit_export"),
    path("people/<int:person_id>/", views.person_forwarding, name="person_forwarding"),
    path("people/<int:person_id>/history/", views.person_history, name="person_history"),
    path("people/<int:person_id>/restore/", views.person_restore, name="person_restore"),
    path("people/<int:person_id>/test/", views.person_test, name="person_test"),
    path("people/<int:person_id>/time-zone/", views.person_time_zone,
         name="person_time_zone"),
    path("orgs/", bulk_views.org_switcher, name="org_switcher"),
    path("orgs/<int:org_id>/bulk/", bulk_views.bulk_import, name="bulk_import"),
    path("orgs/<int:org_id>/bulk/apply/", draft_views.bulk_import_apply,
         name="bulk_import_apply"),
    path("orgs/<int:org_id>/bulk/drafts/<int:draft_id>/", draft_views.bulk_draft,
         name="bulk_draft"),
    path("orgs/<int:org_id>/bulk/drafts/<int:draft_id>/requeue/",
         draft_views.bulk_draft_requeue, name="bulk_draft_requeue"),
    path("orgs/<int:org_id>/bulk/export.csv", bulk_views.bulk_export, name="bulk_export"),
    path("orgs/<int:org_id>/bulk/edit/", bulk_views.bulk_edit, name="bulk_edit"),
    path("bulk-jobs/<int:job_id>/", bulk_views.bulk_job, name="bulk_job"),
    path("bulk-jobs/<int:job_id>/progress.json", bulk_views.bulk_job_progress,
         name="bulk_job_progress"),
    path("bulk-jobs/<int:job_id>/undo/", bulk_views.bulk_job_undo, name="bulk_job_undo"),
    path("bulk-jobs/<int:job_id>/resume/", bulk_views.bulk_job_resume,
         name="bulk_job_resume"),
    path("orgs/<int:org_id>/policy/", policy_views.org_policy, name="org_policy"),
    path("orgs/<int:org_id>/policy/fix/", policy_views.org_policy_fix, name="org_policy_fix"),
    path("people/<int:person_id>/policy-exceptions/", policy_views.person_policy_exception,
         name="person_policy_exception"),
    path("people/<int:person_id>/policy-exceptions/<int:exception_id>/revoke/",
         policy_views.person_policy_exception_revoke, name="person_policy_exception_revoke"),
]
