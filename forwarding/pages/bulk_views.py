"""Bulk pages: CSV export and import (a dry run first, then a job), bulk edit from the
people list, a job's page with its live progress, undo, and the org switcher of admins
and partner admins.

Thin like the other pages: who may act comes from `portal.access`, reads from
`bulk_selectors`, writes from `bulk`. Between the dry run and "Apply" the dry run waits in
the database (forwarding.bulk.drafts), bounded per user and in time.
"""

from __future__ import annotations

import csv

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forwarding.bulk import jobs
from forwarding.bulk import selectors as bulk_selectors
from forwarding.bulk.csvfile import COLUMNS, change_text, export_rows
from forwarding.bulk.plan import edit_description, plan_edit
from forwarding.models import BulkJob, BulkJobRow
from forwarding.pages import draft_views, views
from forwarding.pages.bulk_forms import BulkEditForm
from forwarding.rules.previews import field_label, reasons
from portal import access, audit

ROWS_PER_PAGE = 100


def upload_too_large(size: int) -> str | None:
    """The message for an upload over BULK_MAX_UPLOAD_BYTES (pages and API), else None."""
    limit = settings.BULK_MAX_UPLOAD_BYTES
    if size <= limit:
        return None
    return (f"This file is larger than {filesizeformat(limit)}, the most one import "
            "takes; split it into smaller files.")


class _Echo:
    def write(self, value):
        return value


def csv_response(org):
    """Everyone's settings as CSV, streamed (also used by the API)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in export_rows(org)),
        content_type="text/csv; charset=utf-8")
    name = slugify(org.name) or f"org-{org.pk}"
    response["Content-Disposition"] = f'attachment; filename="forwarding-{name}.csv"'
    return response


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="One row per person; the columns are "
                           "those of the export.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if (message := upload_too_large(upload.size)) is not None:
            raise forms.ValidationError(message)
        return upload


def _job(request, job_id):
    job = bulk_selectors.job_for(request.user, job_id)
    return job, access.partner_for(request.user, job.org)


# --- import, export, bulk edit ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def bulk_import(request, org_id):
    """GET: the import form and the org's jobs. POST: the dry run of the uploaded file."""
    org, via = access.admin_org_or_404(request.user, org_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        return draft_views.upload_answer(request, org, via, form.cleaned_data["file"])
    jobs = Paginator(bulk_selectors.jobs_for(request.user, org_id=org.pk), 20).get_page(
        request.GET.get("page"))
    progress = bulk_selectors.jobs_progress(jobs.object_list)
    return render(request, "forwarding/bulk_import.html", {
        "org": org, "via_partner": via, "form": form, "page": jobs,
        "jobs": [(job, progress[job.pk], bulk_selectors.job_state(job, progress[job.pk]))
                 for job in jobs.object_list],
        "columns": COLUMNS,
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def bulk_export(request, org_id):
    org, _via = access.admin_org_or_404(request.user, org_id)
    return csv_response(org)


@login_required
@require_POST
def bulk_edit(request, org_id):
    """Validate the whole request, then start a job; when nobody ticked can take it (or a
    value is wrong) no job exists and the people list comes back with the errors next to
    the fields, the ticks and every value kept."""
    org, via = access.admin_org_or_404(request.user, org_id)
    back = reverse("org_people", args=[org.pk])
    if (refused := access.require_mfa(request, back)) is not None:
        return refused
    form = BulkEditForm(request.POST, caps=org.capabilities)
    list_params = {"q": request.POST.get("q", ""), "page": request.POST.get("list_page")}
    if form.is_valid():
        data = form.cleaned_data
        plan = plan_edit(org, data["people"], feature=data["feature"],
                         action=data["action"], destination=data["destination"])
        if plan.valid and plan.warned and request.POST.get("confirm_loops") != "yes":
            # The job applies loop warnings as confirmed: the admin says so first.
            form.warn_loops(plan)
        elif plan.valid:
            job = jobs.job_create(org=org, plan=plan, actor=audit.actor_from_request(
                request, via_partner=via), kind=BulkJob.EDIT,
                description=edit_description(data))
            messages.success(request, f"Bulk job #{job.pk} started.")
            return redirect("bulk_job", job_id=job.pk)
        else:
            form.refuse(plan)
    return views.people_page(request, org, via, params=list_params, bulk_form=form,
                             status=400)


# --- a job and its progress ------------------------------------------------------------------


def _rows_page(request, job):
    status = request.GET.get("status") or None
    if status not in {s for s, _ in BulkJobRow.STATUSES}:
        status = None
    page = Paginator(bulk_selectors.job_rows(job, status=status), ROWS_PER_PAGE).get_page(
        request.GET.get("page"))
    return page, status


def _row_view(row):
    outcome = bulk_selectors.row_outcome(row)
    return {"row": row, "outcome": outcome, "outcome_label": OUTCOME_LABELS[outcome],
            "css": OUTCOME_CSS[outcome],
            "changes": [(field_label(name), change_text(name, value))
                        for name, value in (row.changes or {}).items()],
            "messages": reasons(row.errors)}


OUTCOME_LABELS = {
    BulkJobRow.PENDING: "Waiting", BulkJobRow.APPLIED: "Saved, being delivered",
    BulkJobRow.UNCHANGED: "Already so", BulkJobRow.FAILED: "Failed",
    BulkJobRow.INVALID: "Invalid", "pushed": "Saved and delivered",
    "push_failed": "Saved; delivery failed",
}
OUTCOME_CSS = {
    BulkJobRow.PENDING: "pending", BulkJobRow.APPLIED: "pushing",
    BulkJobRow.UNCHANGED: "not_pushed", BulkJobRow.FAILED: "failed",
    BulkJobRow.INVALID: "failed", "pushed": "synced", "push_failed": "failed",
}


def _can_undo(job, progress, undone_by) -> bool:
    # A stopped job can be undone too: its applied rows stay applied.
    return (job.status in (BulkJob.DONE, BulkJob.STOPPED) and not undone_by
            and progress["applied"] > 0)


@login_required
@require_GET
def bulk_job(request, job_id):
    job, via = _job(request, job_id)
    page, status = _rows_page(request, job)
    progress = bulk_selectors.job_progress(job)
    undone_by = list(job.undone_by.all())
    return render(request, "forwarding/bulk_job.html", {
        "job": job, "org": job.org, "via_partner": via, "progress": progress,
        "state": bulk_selectors.job_state(job, progress),
        "page": page, "status": status, "statuses": BulkJobRow.STATUSES,
        "rows": [_row_view(row) for row in page.object_list],
        "undone_by": undone_by,
        "can_undo": _can_undo(job, progress, undone_by),
        "needs_mfa": access.needs_mfa(request.user),
    })


@login_required
@require_GET
def bulk_job_progress(request, job_id):
    """What the job page's script polls: the state, the counters, whether Undo is on offer
    and the outcome of the rows on the page it shows."""
    job, _via = _job(request, job_id)
    page, _status = _rows_page(request, job)
    progress = bulk_selectors.job_progress(job)
    rows = [_row_view(row) for row in page.object_list]
    return JsonResponse({
        "status": job.status, "status_label": job.get_status_display(), "progress": progress,
        "state": bulk_selectors.job_state(job, progress),
        "can_undo": _can_undo(job, progress, list(job.undone_by.all())),
        "rows": [{"id": r["row"].pk, "outcome": r["outcome"], "label": r["outcome_label"],
                  "css": r["css"], "messages": r["messages"]} for r in rows],
    })


@login_required
@require_http_methods(["GET", "POST"])
def bulk_job_undo(request, job_id):
    """GET: what undo would change, person by person, and a button to confirm it.
    POST: the undo, as a new job."""
    job, via = _job(request, job_id)
    if (refused := access.require_mfa(request, reverse("bulk_job", args=[job.pk]))) is not None:
        return refused
    if request.method == "GET":
        progress = bulk_selectors.job_progress(job)
        return render(request, "forwarding/bulk_undo.html", {
            "job": job, "org": job.org, "via_partner": via,
            "can_undo": _can_undo(job, progress, list(job.undone_by.all())),
            "preview": bulk_selectors.undo_preview(job),
        })
    try:
        undo = jobs.job_undo(job=job, actor=audit.actor_from_request(request, via_partner=via))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("bulk_job", job_id=job.pk)
    messages.success(request, f"Undo started as bulk job #{undo.pk}.")
    return redirect("bulk_job", job_id=undo.pk)


@login_required
@require_POST
def bulk_job_resume(request, job_id):
    job, _via = _job(request, job_id)
    if (refused := access.require_mfa(request, reverse("bulk_job", args=[job.pk]))) is not None:
        return refused
    count = jobs.job_resume(job=job)
    messages.info(request, f"{count} waiting row{'s' if count != 1 else ''} handed to the "
                  "workers again.")
    return redirect("bulk_job", job_id=job.pk)


# --- the org switcher --------------------------------------------------------------------------


@login_required
@require_GET
def org_switcher(request):
    """Every org the user administers, own ones first, then customer orgs that delegated
    to them: people count and sync health (failed, on their way) of each."""
    orgs = bulk_selectors.switcher_orgs(request.user)
    if not orgs:
        raise Http404("You administer no organization")
    return render(request, "forwarding/bulk_orgs.html", {"orgs": orgs})
