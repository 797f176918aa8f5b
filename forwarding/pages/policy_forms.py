"""The forms of the destination policy page and of a person's exceptions. They only
read what was typed; forwarding.rules.policy_services checks it (patterns, countries,
domains) and its errors come back next to these fields."""

from __future__ import annotations

from django import forms

from forwarding.rules.policy import PATTERN_HELP


def _lines(value) -> str:
    return "\n".join(value or [])


class PolicyForm(forms.Form):
    allow_internal = forms.BooleanField(
        required=False, label="Internal destinations",
        help_text="Extensions, colleagues' lines and SIP addresses on the domains below.")
    allow_national = forms.BooleanField(required=False, label="National numbers")
    allow_mobile = forms.BooleanField(
        required=False, label="Mobile numbers",
        help_text="A mobile number also needs its country to be allowed.")
    allow_international = forms.BooleanField(required=False, label="International numbers")
    international_countries = forms.CharField(
        required=False, label="Only to these countries",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Two-letter country codes, one a line or separated by commas (DE, FR). "
                  "Empty: every country.")
    allow_sip = forms.BooleanField(required=False, label="SIP addresses outside the org")
    members_outside_org = forms.BooleanField(
        required=False, label="Members may forward outside the organization",
        help_text="Unticked: members' own edits may use internal destinations only. "
                  "Admins are bound by the rest of the policy.")
    deny_patterns = forms.CharField(
        required=False, label="Always blocked numbers", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One pattern a line. " + PATTERN_HELP)
    allow_patterns = forms.CharField(
        required=False, label="Always allowed numbers", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One pattern a line; premium-rate and the other always-blocked kinds "
                  "stay blocked.")
    sip_domains = forms.CharField(
        required=False, label="The organization's SIP domains",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="SIP addresses on these domains count as internal (example.com).")

    @classmethod
    def for_values(cls, values: dict):
        initial = {name: _lines(value) if isinstance(value, list) else value
                   for name, value in values.items()}
        return cls(initial=initial)

    def policy_data(self) -> dict:
        return dict(self.cleaned_data)


class ExceptionForm(forms.Form):
    pattern = forms.CharField(
        required=False, max_length=40, label="Numbers",
        help_text="A pattern such as +44* or one number; empty: any destination.")
    note = forms.CharField(required=False, max_length=200, label="Why (shown in the log)")
