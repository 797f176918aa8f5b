"""The Schedules card of the person page: one form per schedule (business hours per
weekday, or holiday dates), plus an empty one of each kind to add a schedule.

Like the other forms of the pages they only parse what the browser sent ("09:00",
"2026-12-25") into the stored shape (see ForwardingSettings.schedules); every rule about
the values (names unique, start before end, periods not overlapping, bounds) lives in the
validation and comes back keyed "schedules-<i>-<field>", which `attach_errors` puts next
to the field it names.

The forms work without JavaScript: each business-hours schedule has two periods per day
(the second for a break; more when the stored schedule has more, e.g. from the API, so
saving the page never drops one), each holiday schedule as many date rows as it has dates
plus two empty ones; saving adds more rows. The page's script only adds helpers ("copy
Monday to Tuesday-Friday").
"""

from __future__ import annotations

import re

from django import forms

from providers.base import WEEKDAYS

DAY_LABELS = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                 "Saturday", "Sunday"), strict=True))
KINDS = {"business_hours": "Business hours", "holidays": "Holidays"}
PERIODS = 2  # per day: hours, and hours after a break
MAX_PERIODS = 12  # the validation's bound on intervals per day
EMPTY_DATE_ROWS = 2
MAX_DATE_ROWS = 102  # the validation's bound on dates, plus the empty rows
MAX_FORMS = 24  # the validation's bound on schedules, plus the two empty ones
PREFIX = "sched"
DATE_LINE = re.compile(r"^Date (\d+)\b")
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")


class TimeText(forms.TextInput):
    input_type = "time"


class DateText(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _time_field(label):
    return forms.CharField(label=label, required=False, max_length=8,
                           widget=TimeText(attrs={"class": "time"}))


def _clock(value: str, *, end: bool) -> str:
    """ "9:00" -> "09:00"; an end of 00:00 is midnight at the end of the day ("24:00"),
    the only way a time input can say it."""
    match = TIME.match(value.strip())
    if not match:
        raise forms.ValidationError("Enter a time such as 09:00.")
    text = f"{int(match.group(1)):02d}:{match.group(2)}"
    return "24:00" if end and text == "00:00" else text


def _shown_clock(value: str) -> str:
    return "00:00" if value == "24:00" else value


class ScheduleForm(forms.Form):
    """One schedule. `kind` is fixed for a schedule that exists (to change it, remove it and
    add one of the other kind)."""

    kind = forms.ChoiceField(choices=list(KINDS.items()), widget=forms.HiddenInput)
    rows = forms.IntegerField(required=False, widget=forms.HiddenInput,
                              min_value=0, max_value=MAX_DATE_ROWS)
    name = forms.CharField(label="Name", required=False, max_length=80,
                           help_text="Caller rules refer to the schedule by this name.")
    remove = forms.BooleanField(label="Remove this schedule", required=False)

    def __init__(self, *args, kind="business_hours", rows=0, new=False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.new = new
        if self.is_bound:
            kind = self.data.get(self.add_prefix("kind"), kind)
            try:
                rows = int(self.data.get(self.add_prefix("rows"), rows))
            except (TypeError, ValueError):
                rows = 0
        self.schedule_kind = kind if kind in KINDS else "business_hours"
        # `rows`: holiday rows, or periods per day of business hours.
        self.row_count = max(0, min(rows, MAX_DATE_ROWS))
        self.period_count = max(PERIODS, min(rows, MAX_PERIODS))
        if new:
            del self.fields["remove"]
            self.fields["name"].help_text = (
                "Leave empty to add nothing. " + self.fields["name"].help_text)
        if self.schedule_kind == "business_hours":
            for day in WEEKDAYS:
                label = DAY_LABELS[day]
                for p in range(self.period_count):
                    more = ("" if not p else " (after a break)" if p == 1
                            else f" (period {p + 1})")
                    self.fields[f"{day}_from_{p}"] = _time_field(f"{label}{more}: from")
                    self.fields[f"{day}_until_{p}"] = _time_field(f"{label}{more}: until")
        else:
            for r in range(self.row_count):
                self.fields[f"date_{r}_name"] = forms.CharField(
                    label="Holiday", required=False, max_length=80)
                self.fields[f"date_{r}_first"] = forms.DateField(
                    label="First day", required=False, widget=DateText())
                self.fields[f"date_{r}_last"] = forms.DateField(
                    label="Last day", required=False, widget=DateText(),
                    help_text="Empty: the first day only.")
                self.fields[f"date_{r}_yearly"] = forms.BooleanField(
                    label="Every year", required=False)
        self.date_rows_used: list[int] = []

    # --- for the template ---------------------------------------------------------------

    @property
    def filled(self) -> bool:
        """Whether anything was typed in (an added schedule then shows open again)."""
        if self.errors:
            return True
        if not self.is_bound:
            return False
        return any(self[name].value() for name in self.fields
                   if name not in ("kind", "rows", "remove"))

    @property
    def legend(self) -> str:
        if self.new:
            return f"New schedule: {KINDS[self.schedule_kind].lower()}"
        name = self["name"].value() or self.initial.get("name") or ""
        return f"{name} ({KINDS[self.schedule_kind].lower()})" if name else \
            KINDS[self.schedule_kind]

    def days(self):
        """[(day label, day, [[from field, until field] per period])] for business
        hours."""
        return [(DAY_LABELS[day], day,
                 [[self[f"{day}_from_{p}"], self[f"{day}_until_{p}"]]
                  for p in range(self.period_count)])
                for day in WEEKDAYS]

    def date_rows(self):
        return [(r, [self[f"date_{r}_{n}"] for n in ("name", "first", "last", "yearly")])
                for r in range(self.row_count)]

    # --- parsing --------------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        if self.schedule_kind == "business_hours":
            for day in WEEKDAYS:
                for p in range(self.period_count):
                    start, end = f"{day}_from_{p}", f"{day}_until_{p}"
                    raw_start, raw_end = data.get(start) or "", data.get(end) or ""
                    if bool(raw_start.strip()) != bool(raw_end.strip()):
                        missing = end if raw_start.strip() else start
                        self.add_error(missing, "Enter both times, or neither.")
                        continue
                    for name, raw, is_end in ((start, raw_start, False), (end, raw_end, True)):
                        if raw.strip():
                            try:
                                data[name] = _clock(raw, end=is_end)
                            except forms.ValidationError as exc:
                                self.add_error(name, exc)
        else:
            for r in range(self.row_count):
                name, first = data.get(f"date_{r}_name"), data.get(f"date_{r}_first")
                last = data.get(f"date_{r}_last")
                if (name or last) and not first and f"date_{r}_first" not in self.errors:
                    self.add_error(f"date_{r}_first", "Enter the first day.")
        return data

    def is_empty(self) -> bool:
        """An added schedule left blank (nothing to save)."""
        return self.new and not self.schedule().get("name") and not any(
            self.schedule().get(k) for k in ("hours", "dates"))

    def removed(self) -> bool:
        return bool(self.cleaned_data.get("remove"))

    def schedule(self) -> dict:
        """The stored shape of this schedule (ForwardingSettings.schedules)."""
        data = self.cleaned_data
        result = {"name": (data.get("name") or "").strip(), "kind": self.schedule_kind}
        if self.schedule_kind == "business_hours":
            hours = {}
            for day in WEEKDAYS:
                periods = [[data[f"{day}_from_{p}"], data[f"{day}_until_{p}"]]
                           for p in range(self.period_count)
                           if data.get(f"{day}_from_{p}") and data.get(f"{day}_until_{p}")]
                if periods:
                    hours[day] = periods
            result["hours"] = hours
        else:
            dates, self.date_rows_used = [], []
            for r in range(self.row_count):
                first = data.get(f"date_{r}_first")
                if not first:
                    continue
                last = data.get(f"date_{r}_last") or first
                dates.append({"name": (data.get(f"date_{r}_name") or "").strip(),
                              "start": first.isoformat(), "end": last.isoformat(),
                              "yearly": bool(data.get(f"date_{r}_yearly"))})
                self.date_rows_used.append(r)
            result["dates"] = dates
        return result

    # --- errors from the service ------------------------------------------------------------

    def field_for(self, part: str) -> str | None:
        """The field of this form an error key's tail ("name", "hours-monday-0-end",
        "dates-2-start") points at, or None for the schedule as a whole."""
        words = part.split("-")
        if part == "name" or words[0] == "name":
            return "name"
        if self.schedule_kind == "business_hours":
            day = next((w for w in words if w in WEEKDAYS), None)
            if day is None:
                return None
            period = next((int(w) for w in words if w.isdigit()), 0)
            period = period if period < self.period_count else 0
            side = "until" if any(w in ("end", "until", "to") for w in words) else "from"
            return f"{day}_{side}_{period}"
        index = next((int(w) for w in words if w.isdigit()), None)
        if index is None or index >= len(self.date_rows_used):
            return None
        row = self.date_rows_used[index]
        if "end" in words or "last" in words:
            return f"date_{row}_last"
        if "name" in words:
            return f"date_{row}_name"
        if "yearly" in words:
            return f"date_{row}_yearly"
        return f"date_{row}_first"


def _initial(schedule: dict) -> dict:
    initial = {"name": schedule.get("name", ""), "kind": schedule.get("kind")}
    for day, periods in (schedule.get("hours") or {}).items():
        for p, (start, end) in enumerate(periods[:MAX_PERIODS]):
            initial[f"{day}_from_{p}"] = start
            initial[f"{day}_until_{p}"] = _shown_clock(end)
    for r, entry in enumerate(schedule.get("dates") or []):
        initial[f"date_{r}_name"] = entry.get("name", "")
        initial[f"date_{r}_first"] = entry.get("start")
        initial[f"date_{r}_last"] = entry.get("end")
        initial[f"date_{r}_yearly"] = bool(entry.get("yearly"))
    return initial


def _rows(schedule: dict) -> int:
    """Holiday rows (the dates and two empty ones), or periods per day (two, or the most a
    day of the stored schedule has)."""
    if schedule.get("kind") == "holidays":
        return len(schedule.get("dates") or []) + EMPTY_DATE_ROWS
    return max([PERIODS, *(len(p) for p in (schedule.get("hours") or {}).values())])


class ScheduleForms:
    """Every schedule form of the card, and what they give the service together."""

    def __init__(self, data, *, stored: list[dict]):
        self.data = data
        self.forms: list[ScheduleForm] = []
        self.errors: list[str] = []  # about the schedules as a whole
        self.sent: list[ScheduleForm] = []  # form of each schedule handed to the service
        if data is None:
            specs = [(s.get("kind"), _rows(s), False, _initial(s)) for s in stored]
            specs += [("business_hours", 0, True, {}),
                      ("holidays", EMPTY_DATE_ROWS + 1, True, {})]
            self.total = len(specs)
        else:
            try:
                self.total = max(0, min(int(data.get(f"{PREFIX}-TOTAL", 0)), MAX_FORMS))
            except (TypeError, ValueError):
                self.total = 0
            specs = []
            for i in range(self.total):
                specs.append((None, 0, data.get(f"{PREFIX}-{i}-new") == "yes", {}))
        for i, (kind, rows, new, initial) in enumerate(specs):
            if kind is not None:
                initial = {**initial, "kind": kind, "rows": rows}
            self.forms.append(ScheduleForm(data, prefix=f"{PREFIX}-{i}", kind=kind or
                                           "business_hours", rows=rows, new=new,
                                           initial=initial))

    @staticmethod
    def posted(data) -> bool:
        """Whether `data` holds the Schedules card (its count of forms)."""
        return f"{PREFIX}-TOTAL" in data

    def is_valid(self) -> bool:
        return all(form.is_valid() for form in self.forms)

    def schedules(self) -> list[dict]:
        """The schedules to store, in order: removed and blank added ones left out."""
        result, self.sent = [], []
        for form in self.forms:
            if form.removed() or form.is_empty():
                continue
            result.append(form.schedule())
            self.sent.append(form)
        return result

    def names(self) -> list[str]:
        """Schedule names a caller rule may choose: as stored, or as posted."""
        names = []
        for form in self.forms:
            value = (form["name"].value() or "").strip()
            if value and value not in names and not (self.data is not None and
                                                       form.data.get(form.add_prefix("remove"))):
                names.append(value)
        return names

    def attach(self, key: str, errors: list[str]) -> None:
        """Put the service's error `key` ("schedules" or "schedules-<i>-<part>") next to
        the field it names."""
        _prefix, _sep, rest = key.partition("-")
        index, _sep, part = rest.partition("-")
        if not index.isdigit() or int(index) >= len(self.sent):
            self.errors.extend(errors)
            return
        form = self.sent[int(index)]
        field = form.field_for(part) if part else None
        for error in errors:
            # "Date 2 (Company day): ..." names its row in the words, not in the key.
            row = DATE_LINE.match(str(error)) if part == "dates" and not field else None
            target = form.field_for(f"dates-{int(row.group(1)) - 1}") if row else field
            form.add_error(target if target in form.fields else None, error)

    def summary(self) -> list[tuple[str, str, str]]:
        """(field id or "", label, message) of every error, for the page's error list."""
        lines = [("", "Schedules", e) for e in self.errors]
        for form in self.forms:
            for error in form.non_field_errors():
                lines.append(("", form.legend, error))
            for name, errors in form.errors.items():
                if name == "__all__":
                    continue
                bound = form[name]
                lines.append((bound.auto_id, f"{form.legend}, {bound.label}", errors[0]))
        return lines
