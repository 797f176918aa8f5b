"""The dry run of a CSV import, as pages: the upload's answer, the dry run's own page
(progress while a worker checks a big file, then the results a page at a time), and
"Apply". Thin: the dry runs live in the database and are handled by
forwarding.bulk.drafts; who may act comes from `portal.access`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from forwarding.bulk import drafts
from forwarding.bulk.csvfile import change_text
from forwarding.models import BulkDraft, BulkDraftRow
from forwarding.rules.previews import field_label
from portal import access, audit

ROWS_PER_PAGE = 100
# While a worker checks the file, the page reloads itself this often (a meta refresh:
# works without JavaScript and needs no script the CSP would have to allow).
REFRESH_SECONDS = 2
SHOW = [("", "Invalid rows and changes"), ("invalid", "Invalid rows"),
        ("change", "Changes"), ("all", "All rows")]


def _row_view(row: BulkDraftRow) -> dict:
    """A row in the page's words: fields named as the person page labels them ("Forward
    when busy: destination"), never by their code."""
    return {
        "row": row,
        "messages": [(field_label(field), message)
                     for field, errors in (row.errors or {}).items() for message in errors],
        "warnings": [(field_label(field), message)
                     for field, warnings in (row.warnings or {}).items()
                     for message in warnings],
        "diff": [(field_label(c["field"]), change_text(c["field"], c["old"]),
                  change_text(c["field"], c["new"])) for c in row.diff or []],
    }


def file_errors_page(request, org, via, *, filename, problems):
    """The answer to a file that cannot be imported at all: nothing was stored."""
    return render(request, "forwarding/bulk_dry_run.html", {
        "org": org, "via_partner": via, "filename": filename, "file_errors": problems,
    }, status=400)


def draft_page(request, org, via, draft: BulkDraft):
    """A dry run: its progress while it is being checked, else its results, paged."""
    show = request.GET.get("show", "")
    if show not in drafts.ROW_FILTERS:
        show = ""
    context = {"org": org, "via_partner": via, "draft": draft, "filename": draft.filename,
               "needs_mfa": access.needs_mfa(request.user), "show": show, "show_choices": SHOW,
               "file_errors": draft.file_errors if draft.status == BulkDraft.FAILED else [],
               "draft_url": reverse("bulk_draft", args=[org.pk, draft.pk]),
               "refresh_seconds": REFRESH_SECONDS}
    if draft.status == BulkDraft.READY:
        page = Paginator(drafts.draft_rows(draft, show=show), ROWS_PER_PAGE).get_page(
            request.GET.get("page"))
        context.update(page=page, rows=[_row_view(row) for row in page.object_list])
    status = 400 if draft.status == BulkDraft.FAILED else 200
    return render(request, "forwarding/bulk_dry_run.html", context, status=status)


def upload_answer(request, org, via, upload):
    """The POST of the import form: a dry run of the file. A small file's results come
    straight back; a big one is checked by a worker, so the person goes to its page."""
    draft, problems = drafts.draft_create(
        org=org, user=request.user, via_partner=via, filename=upload.name, data=upload.read())
    if problems:
        return file_errors_page(request, org, via, filename=upload.name, problems=problems)
    if draft.status in (BulkDraft.QUEUED, BulkDraft.RUNNING):
        return redirect("bulk_draft", org_id=org.pk, draft_id=draft.pk)
    return draft_page(request, org, via, draft)


def _draft(request, org, draft_id):
    try:
        return drafts.draft_for(request.user, draft_id, org=org)
    except drafts.DraftGone:
        raise Http404("No such dry run") from None


@login_required
@require_GET
def bulk_draft(request, org_id, draft_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    return draft_page(request, org, via, _draft(request, org, draft_id))


@login_required
@require_POST
def bulk_draft_requeue(request, org_id, draft_id):
    org, _via = access.admin_org_or_404(request.user, org_id)
    draft = _draft(request, org, draft_id)
    if drafts.draft_requeue(draft=draft):
        messages.info(request, "The file was handed to the workers again.")
    elif draft.status == BulkDraft.QUEUED:
        messages.error(request, "The workers cannot be reached right now; try again in a "
                       "minute.")
    return redirect("bulk_draft", org_id=org.pk, draft_id=draft.pk)


@login_required
@require_POST
def bulk_import_apply(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    if (refused := access.require_mfa(request, reverse("bulk_import", args=[org.pk]))) is not None:
        return refused
    draft_id = request.POST.get("token", "")
    try:
        job = drafts.draft_apply(
            draft_id=draft_id, user=request.user, org=org,
            actor=audit.actor_from_request(request, via_partner=via),
            confirm_loops=request.POST.get("confirm_loops") == "yes")
    except drafts.DraftGone:
        messages.error(request, drafts.EXPIRED)
        return redirect("bulk_import", org_id=org.pk)
    except drafts.LoopsNotConfirmed as exc:
        # Back to the dry run, whose rows show the warnings, with the box to tick.
        messages.error(request, f"Nothing was applied: {exc.message}")
        return redirect("bulk_draft", org_id=org.pk, draft_id=draft_id)
    pending = job.rows.filter(status="pending").count()
    messages.success(request, f"Bulk job #{job.pk} started: {pending} "
                     f"change{'s' if pending != 1 else ''} to apply.")
    return redirect("bulk_job", job_id=job.pk)
