"""The bulk edit form of the people list: who was ticked, which forwarding, set or turn
off, and the destination. When the whole request cannot be done (a bad value, or a
destination nobody can take) the people list comes back with this form bound: the
errors sit next to their fields and every tick and value is kept."""

from __future__ import annotations

from django import forms
from django.conf import settings

from forwarding.bulk.plan import EDIT_FEATURES, edit_refusal
from providers.capabilities import PORTAL_DESTINATION_MAX_LENGTH


def too_many_people(count: int) -> str | None:
    """The message for a bulk edit of more than BULK_EDIT_MAX_PEOPLE people, else None."""
    limit = settings.BULK_EDIT_MAX_PEOPLE
    if count <= limit:
        return None
    return (f"{count:,} people were chosen; a bulk edit takes at most {limit:,}. "
            "Split it into smaller ones.")


class IdsField(forms.Field):
    widget = forms.MultipleHiddenInput  # reads every value of the name (the checkboxes)
    default_error_messages = {"required": "Tick at least one person in the list.",
                              "invalid": "Tick people in the list."}

    def to_python(self, value):
        value = value or []
        if (message := too_many_people(len(value))) is not None:
            raise forms.ValidationError(message)
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"]) from None


class BulkEditForm(forms.Form):
    # Ids of anyone: people of another org are refused row by row by the plan.
    people = IdsField()
    feature = forms.ChoiceField(label="Forwarding", choices=list(EDIT_FEATURES.items()))
    action = forms.ChoiceField(label="Action", choices=[("set", "Set to"), ("off", "Turn off")],
                               widget=forms.RadioSelect, initial="set")
    destination = forms.CharField(
        label="Destination", required=False, max_length=PORTAL_DESTINATION_MAX_LENGTH,
        help_text="Needed with “Set to”. Each person is checked as on their own page; a "
                  "person who cannot take it is reported and the others go ahead.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                      "inputmode": "tel"}))

    def __init__(self, *args, caps=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "bulk-%s")
        super().__init__(*args, **kwargs)
        if caps is not None:
            self.fields["feature"].choices = [
                (value, label) for value, label in EDIT_FEATURES.items()
                if value not in caps.unsupported]

    def clean(self):
        data = super().clean()
        if data.get("action") == "set" and not (data.get("destination") or "").strip():
            self.add_error("destination", "Enter where the calls should go.")
        return data

    @property
    def ticked(self) -> set[int]:
        """The ids ticked in the request (kept when the form comes back with errors)."""
        if not self.is_bound:
            return set()
        out = set()
        for value in self.data.getlist("people")[:settings.BULK_EDIT_MAX_PEOPLE]:
            if str(value).isdigit() and len(str(value)) < 12:
                out.add(int(value))
        return out

    loop_warning = False  # the form asks to confirm loops (warn_loops)

    def warn_loops(self, plan) -> None:
        """The plan's changes loop in some conditions: name them, and ask for the box."""
        self.loop_warning = True
        count = plan.warned
        self.add_error(None, f"{count} change{'s' if count != 1 else ''} would make a "
                             "forwarding loop in some conditions. Tick “Apply anyway” to "
                             "start the job, or change the destination.")
        for row in plan.rows:
            if row.valid and row.changed:
                for messages in row.warnings.values():
                    for message in messages:
                        self.add_error(None, message)

    def refuse(self, plan) -> None:
        """Put the reasons of a plan nobody can take next to the fields they are about."""
        self.add_error(None, "Nobody ticked can take this change. "
                             "Correct it below and apply it again.")
        for field, message in edit_refusal(plan):
            self.add_error(field, message)
