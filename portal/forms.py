from django import forms
from django.contrib.auth import password_validation

from portal.models import Membership, User
from portal.models.tenancy import partner_by_code
from portal.provider_urls import base_url_problem
from portal.timezones import zone_names

ZONE_LIST_ID = "zone-names"  # the <datalist> of partials/zone_datalist.html


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Membership.ROLE_CHOICES, initial="member")


class DelegationForm(forms.Form):
    partner_code = forms.CharField(
        label="Partner code", max_length=64,
        help_text="The code your partner gives you (it is on their organization's settings "
                  "page). Its admins will then be able to change forwarding for your people.",
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_partner_code(self):
        # One answer for every code that is not a partner's: nothing tells a customer
        # whether, or which, other organizations exist.
        partner = partner_by_code(self.cleaned_data["partner_code"])
        if partner is None:
            raise forms.ValidationError(UNKNOWN_PARTNER_CODE)
        self.cleaned_data["partner"] = partner
        return partner.partner_code


UNKNOWN_PARTNER_CODE = ("No partner has this code. Check it with your partner: it is shown "
                        "on their organization's settings page.")


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password (again)", widget=forms.PasswordInput,
                                strip=False)

    def __init__(self, *args, email, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(p1, User(email=self.email))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class UcwaConnectForm(forms.Form):
    """The service account the portal signs in with at a UCWA deployment's token
    endpoint. The password is never rendered back (not even after an error)."""

    token_url = forms.URLField(
        label="Token endpoint URL", max_length=300, assume_scheme="https",
        help_text="The deployment's WebTicket OAuth endpoint, e.g. "
                  "https://lyncweb.contoso.com/WebTicket/oauthtoken")
    username = forms.CharField(label="Service account user name", max_length=200,
                               help_text="e.g. CONTOSO\\svc-forwarding or "
                                         "svc-forwarding@contoso.com")
    password = forms.CharField(label="Password", strip=False, max_length=500,
                               widget=forms.PasswordInput(render_value=False))

    def clean_token_url(self):
        url = self.cleaned_data["token_url"]
        problem = base_url_problem("ucwa", url)
        if problem:
            raise forms.ValidationError(problem)
        return url


class TimeZoneForm(forms.Form):
    """An org's or a person's IANA time zone, typed with the names of
    partials/zone_datalist.html offered as the user types. A name in the wrong case is
    taken in the right one; anything else is refused next to the field."""

    time_zone = forms.CharField(
        label="Time zone", max_length=64,
        widget=forms.TextInput(attrs={"list": ZONE_LIST_ID, "autocomplete": "off",
                                      "spellcheck": "false"}),
    )

    def __init__(self, *args, blank_means=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        if blank_means:
            field.required = False
            field.help_text = (f"A name such as Europe/Berlin or America/New_York. Leave "
                               f"empty to use the organization's ({blank_means}).")
        else:
            field.help_text = ("A name such as Europe/Berlin or America/New_York: people "
                               "without a zone of their own enter and read times in it.")

    @property
    def zone_names(self):
        return zone_names()

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        if not name:
            return ""
        known = {zone.lower(): zone for zone in zone_names()}
        if name.lower() not in known:
            raise forms.ValidationError(
                f"{name} is not a time zone. Use a name such as Europe/Berlin or "
                "America/New_York (start typing to see the list).")
        return known[name.lower()]


class EventEndpointForm(forms.Form):
    """An org admin's new event endpoint; the URL rules live in portal.events.services."""

    url = forms.CharField(
        label="Endpoint URL", max_length=500,
        help_text="An https:// address on the public internet that accepts POSTed JSON.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                     "placeholder": "https://hooks.example.com/portal"}))
    description = forms.CharField(label="Description", max_length=200, required=False,
                                  help_text="What receives these events, e.g. “SIEM”.")
    event_types = forms.MultipleChoiceField(
        label="Events", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event, including ones added later.")

    def __init__(self, *args, choices=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = [(code, f"{label} ({code})")
                                              for code, label in choices]
