"""Forms of the forwarding pages. They parse what the browser sent into Python values;
every rule about those values lives in `validation` and runs in `services`.

The settings form holds a field for every setting, whatever the provider: pages render
only the supported ones, and a value a client sends for an unsupported one reaches the
service, which refuses it with the capability matrix's reason.
"""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import BaseTemporalField
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from forwarding.rules.routing import LINE_STATE_LABELS, LINE_STATES
from forwarding.rules.validation import (
    FIELD_FEATURES,
    FIELD_OPTIONS,
    normalize_caller,
    normalize_destination,
)
from portal import audit
from portal.timezones import from_local, person_zone
from providers.addresses import display_destination
from providers.capabilities import PORTAL_DESTINATION_MAX_LENGTH

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_INPUTS = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
DESTINATION_HELP = (
    "A phone number (+1 202 555 0100, or national), an extension, or a tel: or sip: address."
)


def destination_help(region: str) -> str:
    """DESTINATION_HELP with an example number of the org's region (a UK org reads a UK
    number, a German one a German number)."""
    example = phonenumbers.example_number(region or "")
    if example is None:
        return DESTINATION_HELP
    full = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    return (f"A phone number ({full}, or national: {national}), an extension, or a tel: or "
            f"sip: address.")


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


AMBIGUOUS_HELP = ("A time that happens twice when clocks go back is read as the first "
                  "one.")


class ZonedDateTimeField(forms.DateTimeField):
    """A date and time typed on a wall clock of `zone` (None: the viewer's, the active
    zone), read into an aware instant. Unlike Django's field, a time that does not exist
    there gets a message naming the clock change, and one that happens twice is read as
    its first occurrence (portal.timezones.from_local), with a note in `self.note`.
    A value with an offset ("2026-03-29T09:00+02:00") is taken as it is."""

    def __init__(self, *args, zone=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.note = ""

    def current_zone(self):
        return self.zone or timezone.get_current_timezone()

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.localtime(value, self.current_zone()).replace(tzinfo=None)
        return value

    def to_python(self, value):
        self.note = ""
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            value = str(value).strip()
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is None:
                parsed = BaseTemporalField.to_python(self, value)
        if timezone.is_aware(parsed):
            return parsed
        try:
            local = from_local(parsed, self.current_zone())
        except ValidationError as exc:
            raise ValidationError(exc.messages, code="nonexistent_time") from None
        if local.note:
            self.note = f"{self.label}: {local.note}"
        return local.instant


def _datetime_field(label):
    return ZonedDateTimeField(
        label=label, required=False, widget=LocalDateTimeInput(), input_formats=DATETIME_INPUTS,
    )


def zone_notes(form) -> list[str]:
    """The notes of `form`'s date and time fields (an ambiguous time read as the first)."""
    return [field.note for field in form.fields.values()
            if isinstance(field, ZonedDateTimeField) and field.note]


def destination_field(label):
    return forms.CharField(
        label=label, required=False, help_text=DESTINATION_HELP,
        # The browser stops only at what no provider takes; the server checks the person's
        # provider's limit and names it.
        widget=forms.TextInput(attrs={"maxlength": PORTAL_DESTINATION_MAX_LENGTH,
                                      "autocomplete": "off",
                                      "inputmode": "tel", "spellcheck": "false"}),
    )


def flag_field(label, help_text=""):
    return forms.BooleanField(label=label, required=False, help_text=help_text)


class AnyChoiceMultiple(forms.MultipleChoiceField):
    """Ticks whose choices the browser may have added (the script lists a number as soon
    as it is typed): every value is kept; the form decides what it means."""

    def valid_value(self, value):
        return isinstance(value, str) and len(value) <= PORTAL_DESTINATION_MAX_LENGTH


class ForwardingForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)

    always_enabled = flag_field("Forward all calls")
    always_destination = destination_field("Forward all calls to")
    always_ring_reminder = flag_field("Play a short ring reminder on the phone when a call is "
                                 "forwarded")
    always_voicemail = flag_field("Send them to the destination's voicemail (internal numbers "
                             "with voicemail)")

    busy_enabled = flag_field("Forward calls when the line is busy")
    busy_destination = destination_field("Forward busy calls to")
    busy_voicemail = flag_field("Send them to the destination's voicemail")

    no_answer_enabled = flag_field("Forward calls that are not answered")
    no_answer_destination = destination_field("Forward unanswered calls to")
    no_answer_ring_after = forms.IntegerField(label="Forward after", required=False)
    no_answer_voicemail = flag_field("Send them to the destination's voicemail")

    continuity_enabled = flag_field("Forward calls when the phone is offline")
    continuity_destination = destination_field("Forward calls to")
    continuity_voicemail = flag_field("Send them to the destination's voicemail")

    simring_enabled = flag_field("Ring other numbers at the same time")
    simring_targets = forms.CharField(
        label="Numbers to ring", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    simring_timeout = forms.IntegerField(label="Ring for (seconds)", required=False)
    simring_skip_when_on_call = flag_field("Don't ring them while I'm on a call")
    simring_confirm = AnyChoiceMultiple(
        label="Ask whoever answers to press a key first", required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="So a voicemail box or an answering machine there cannot take the call. "
        "A number you add gets its box here once it is saved.",
    )

    dnd_enabled = flag_field("Don't let the phone ring",
                        "Callers are treated as if the line were busy: forwarding when busy "
                        "applies if it is on, else they hear the busy tone or voicemail.")
    dnd_ring_splash = flag_field("Play a short ring splash on the phone when a call arrives")

    window_enabled = flag_field("Use a time window")
    window_start = _datetime_field("From")
    window_end = _datetime_field("Until")
    window_destination = destination_field("During the window, send all calls to")

    def __init__(self, *args, caps, person, locked_notes=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.caps = caps
        # Features the viewer may not change (a member's, forwarding.rules.permissions):
        # feature -> the sentence saying who to ask. Their cards are disabled, so the
        # browser posts none of their fields; the stored values stand in for them.
        self.locked_notes = dict(locked_notes or {})
        if self.is_bound and self.locked_notes:
            self.data = locked_values(self, self.data)
        self._confirm_choices(person)
        for field in self.fields.values():
            if field.help_text == DESTINATION_HELP:
                field.help_text = destination_help(person.org.default_region)
        bounds = caps.no_answer_bounds(person.provider_data or {})
        if bounds:
            unit = caps.no_answer_unit
            field = self.fields["no_answer_ring_after"]
            field.label = f"Forward after ({unit})"
            field.help_text = (f"Between {bounds[0]} and {bounds[1]} {unit}; "
                               f"{caps.no_answer_default} when left empty.")
            field.widget.attrs.update({"min": bounds[0], "max": bounds[1]})
        targets = self.fields["simring_targets"]
        if caps.simring_max_targets == 1:
            targets.help_text = "One number. Your own line rings too."
        elif caps.simring_max_targets:
            targets.help_text = (f"One per line, up to {caps.simring_max_targets}. "
                                 "Your own line rings too.")
        timeout = self.fields["simring_timeout"]
        if caps.simring_timeout_min is not None:
            timeout.help_text = (
                f"Between {caps.simring_timeout_min} and {caps.simring_timeout_max} seconds; "
                f"when empty, {caps.label} rings {caps.simring_timeout_default_one} s for one "
                f"target and {caps.simring_timeout_default_many} s for several."
            )
            timeout.widget.attrs.update({"min": caps.simring_timeout_min,
                                         "max": caps.simring_timeout_max})
        for name, feature in FIELD_FEATURES.items():
            # Settings without a field on this form (schedules and do not disturb have
            # their own parts of the page) are left to those parts.
            if name.endswith("_enabled") and name in self.fields:
                # Each card's switch: the script hides the card's other fields while it
                # is off (without JavaScript they all stay visible).
                self.fields[name].widget.attrs.update({
                    "role": "switch", "class": "switch", "data-switch": "",
                    "aria-controls": f"body-{feature}"})
        # The window is the person's: typed and shown on their wall clock, whoever edits.
        zone_name = person.zone_name
        viewer = timezone.get_current_timezone_name()
        times = f"Times in {zone_name}"
        if viewer != zone_name:
            times += f" ({person.display_name}'s time zone; yours is {viewer})"
        for name in ("window_start", "window_end"):
            self.fields[name].zone = person_zone(person)
        self.fields["window_start"].help_text = f"{times}. {AMBIGUOUS_HELP}"
        self.fields["window_end"].help_text = (
            f"{times}. Afterwards the settings above apply again by themselves."
        )

    def _confirm_choices(self, person):
        """One "press a key" box per simultaneous-ring number: as typed in this post, else
        as stored."""
        self.region = person.org.default_region
        if self.is_bound:
            lines = (self.data.get("simring_targets") or "").splitlines()
        else:
            lines = (self.initial.get("simring_targets") or "").splitlines()
        choices = []
        for line in (line.strip() for line in lines):
            key = self.target_key(line)
            if line and key not in [c[0] for c in choices]:
                choices.append((key, display_destination(key) or line))
        self.fields["simring_confirm"].choices = choices

    def target_key(self, value: str) -> str:
        """A simultaneous-ring number as the service stores it, so a tick and its line
        compare equal however the number is written; as typed when it does not read."""
        try:
            return normalize_destination(value, region=self.region, caps=self.caps) or \
                value.strip()
        except ValidationError:
            return value.strip()

    def shown(self, name) -> bool:
        """Whether the page shows field `name` for this provider."""
        if name == "version":
            return True
        if name not in self.fields:
            return False
        if not self.caps.supports(FIELD_FEATURES[name]):
            return False
        if name in FIELD_OPTIONS and not self.caps.has_option(FIELD_OPTIONS[name]):
            return False
        if name == "simring_timeout" and self.caps.simring_timeout_min is None:
            return False
        return True

    def sections(self):
        """One card per supported feature, in order: a dict with the feature, its legend,
        the switch (its `*_enabled` field), the fields it reveals, and whether it is on
        (as posted, or as stored)."""
        result = []
        for feature, label, supported, _reason in self.caps.features():
            if not supported or feature == "caller_rules":
                continue
            names = [n for n, f in FIELD_FEATURES.items() if f == feature and self.shown(n)]
            if not names:
                continue
            switch = next((n for n in names if n.endswith("_enabled")), None)
            result.append({
                "feature": feature, "legend": label,
                "switch": self[switch] if switch else None,
                "fields": [self[n] for n in names if n != switch],
                "on": bool(self[switch].value()) if switch else True,
                "locked_note": self.locked_notes.get(feature),
            })
        return result

    def changes(self) -> dict:
        """The values to hand to the service: every shown field, and any hidden one the
        client sent anyway (the service refuses those with a reason)."""
        data = {}
        for name in FIELD_FEATURES:
            if name not in self.cleaned_data:
                continue
            if self.shown(name) or name in self.data:
                value = self.cleaned_data[name]
                if name == "simring_targets":
                    value = [line.strip() for line in (value or "").splitlines() if line.strip()]
                if name == "simring_confirm":
                    # A tick whose number left the list means nothing any more.
                    typed = {self.target_key(line) for line in
                             (self.cleaned_data.get("simring_targets") or "").splitlines()}
                    value = [key for key in dict.fromkeys(self.target_key(v) for v in value)
                             if key in typed]
                data[name] = value
        return data

    @staticmethod
    def initial_from(values: dict, version: int) -> dict:
        # Stored instants stay aware: the window fields show them in the person's zone.
        initial = dict(values)
        initial.pop("caller_rules", None)
        initial.pop("schedules", None)
        initial["simring_targets"] = "\n".join(values.get("simring_targets") or [])
        initial["version"] = version
        return initial


def locked_values(form, data):
    """`data` with the stored value of every field of a locked feature the post left out
    (disabled inputs are not posted): the service then sees no change there, and the page
    shows what is stored. A value the post holds is kept, so a crafted one reaches the
    service, which refuses it next to its field."""
    data = data.copy()
    for name, feature in FIELD_FEATURES.items():
        if feature not in form.locked_notes or name not in form.fields or name in data:
            continue
        value = form.initial.get(name)
        field = form.fields[name]
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(field, forms.MultipleChoiceField):
            data.setlist(name, list(value or []))
        elif isinstance(value, datetime):
            data[name] = value.isoformat()  # with its offset: read back as the same instant
        elif value is not None:
            data[name] = str(value)
    return data


class TestCallForm(forms.Form):
    """The "test my forwarding" panel: a caller, a time and the line state."""

    caller = forms.CharField(
        label="Caller", required=False, max_length=200,
        help_text="A number or SIP address; leave empty for an anonymous caller.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    at = _datetime_field("At")
    line_state = forms.ChoiceField(
        label="While the line is", initial="idle",
        choices=[(s, LINE_STATE_LABELS[s]) for s in LINE_STATES],
    )

    def __init__(self, *args, region="US", zone=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.region = region
        # The person's wall clock (the simulator answers in it); the viewer's without one.
        self.fields["at"].zone = zone
        name = getattr(zone, "key", None) or timezone.get_current_timezone_name()
        self.fields["at"].help_text = (
            f"Date and time in {name}; now when empty. {AMBIGUOUS_HELP}"
        )

    def clean_caller(self):
        """The caller as typed, once it reads as a number or SIP address of the org's
        region: "12ab" would match no rule and explain nothing."""
        caller = self.cleaned_data["caller"].strip()
        if caller:
            normalize_caller(caller, region=self.region)
        return caller


class PeopleSearchForm(forms.Form):
    q = forms.CharField(label="Search by name, email or number", required=False,
                        max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class EventFilterForm(forms.Form):
    event = forms.ChoiceField(label="Event", required=False)
    since = _datetime_field("From")
    until = _datetime_field("Until")

    def __init__(self, *args, codes=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name in ("since", "until"):
            self.fields[name].help_text = f"Times in {timezone.get_current_timezone_name()}."
        known = dict(audit.Event.choices)
        choices = [("", "All events")]
        for code in sorted(set(codes) | set(known)):
            choices.append((code, known.get(code, code)))
        self.fields["event"].choices = choices

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "Choose a time after the start.")
        return data

