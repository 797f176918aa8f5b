"""Downloading an org's audit log for a SIEM: a date range and a format (CSV or JSON
Lines), streamed by portal.audit_export. The same people as the audit page."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from forwarding.pages.forms import DATETIME_INPUTS, LocalDateTimeInput
from portal import access, audit_export


def _when(label, help_text):
    return forms.DateTimeField(label=label, required=False, help_text=help_text,
                               widget=LocalDateTimeInput(), input_formats=DATETIME_INPUTS)


class AuditExportForm(forms.Form):
    since = _when("From", "Empty: from the first event.")
    until = _when("Until", "Empty: up to now. Not included.")
    file_format = forms.ChoiceField(label="Format", choices=[
        ("csv", "CSV (spreadsheets)"), ("jsonl", "JSON Lines (one event per line, for SIEMs)")],
        initial="jsonl", widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "export_%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Choose a time after the start.")
        return data


def stream(org, fmt, *, since=None, until=None) -> StreamingHttpResponse:
    """The streamed download (also the API's answer)."""
    content_type, _ext = audit_export.FORMATS[fmt]
    response = StreamingHttpResponse(audit_export.lines(fmt, org, since=since, until=until),
                                     content_type=content_type)
    name = audit_export.filename(org, fmt, since=since, until=until)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def org_audit_export(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    if "file_format" not in request.GET:
        return render(request, "forwarding/audit_export.html", {
            "org": org, "via_partner": via, "form": AuditExportForm()})
    form = AuditExportForm(request.GET)
    if not form.is_valid():
        return render(request, "forwarding/audit_export.html", {
            "org": org, "via_partner": via, "form": form}, status=400)
    data = form.cleaned_data
    return stream(org, data["file_format"], since=data.get("since"), until=data.get("until"))
