"""Forms of a person's caller rules ("calls from these callers, at these times, go
there"): one form per rule in a formset, ordered and deletable. They parse; the rules about
the values live in forwarding.rules.caller_rules and run in the service."""

from __future__ import annotations

from django import forms

from forwarding.pages.forms import destination_field, destination_help, flag_field


class ScheduleChoice(forms.ChoiceField):
    """ "At any time", or "during:<schedule>" / "outside:<schedule>". A name the page did
    not list (typed into a schedule in this same post) is kept: whether the schedule
    exists is the service's check, shown next to this field."""

    def valid_value(self, value):
        return value == "" or value.partition(":")[0] in ("during", "outside")


def schedule_choices(names, current=""):
    choices = [("", "At any time")]
    names = list(names)
    name = current.partition(":")[2]
    if name and name not in names:
        names.append(name)
    for name in names:
        choices += [(f"during:{name}", f"Only during {name}"),
                    (f"outside:{name}", f"Only outside {name}")]
    return choices


class CallerRuleForm(forms.Form):
    match_all = flag_field("All callers",
                      "Every call, whoever calls (the list of callers is then not used).")
    callers = forms.CharField(
        label="When the caller is", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One number or SIP address per line (sip:name@example.com).",
    )
    match_anonymous = flag_field("or the caller is anonymous (number withheld)")
    schedule = ScheduleChoice(
        label="When", required=False, choices=[("", "At any time")],
        help_text="Only during or outside one of the schedules of the Schedules card.",
    )
    destination = destination_field("send the call to")
    disposition = forms.ChoiceField(
        label="How", required=False, initial="forward",
        choices=[("forward", "Forward (the caller is not told)"),
                 ("redirect", "Redirect (the caller is told)")],
    )
    mask_caller = flag_field("Hide the caller's number from the destination")
    mask_callee = flag_field("Hide this person's number from the caller")

    def __init__(self, *args, caps=None, region=None, schedule_names=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.caps = caps
        if region is not None:
            self.fields["destination"].help_text = destination_help(region)
        current = self["schedule"].value() or ""
        self.fields["schedule"].choices = schedule_choices(schedule_names, current)
        if caps is not None:
            # A field the page does not show is never posted: with an initial value it
            # would make an empty extra row look "changed" and fail validation.
            for name in list(self.fields):
                if not self.shown(name):
                    self.fields[name].initial = None

    def shown(self, name) -> bool:
        if name == "disposition":
            return self.caps.has_option("disposition")
        if name in ("mask_caller", "mask_callee"):
            return self.caps.masking
        if name == "schedule":
            return self.caps.rules_take_schedules()
        return True

    def shown_fields(self):
        return [self[n] for n in self.fields if self.shown(n) and n not in ("ORDER", "DELETE")]

    def rule(self) -> dict:
        data = self.cleaned_data
        when, _sep, schedule = (data.get("schedule") or "").partition(":")
        rule = {
            "callers": [c.strip() for c in (data.get("callers") or "").splitlines()
                        if c.strip()],
            "match_anonymous": bool(data.get("match_anonymous")),
            "match_all": bool(data.get("match_all")),
            "destination": data.get("destination") or "",
            "disposition": data.get("disposition") or "forward",
            "mask_caller": bool(data.get("mask_caller")),
            "mask_callee": bool(data.get("mask_callee")),
            "schedule": schedule,
            "schedule_when": when if schedule else "",
        }
        if not self.shown("schedule"):
            # Not on the page: a rule keeps applying at all times.
            del rule["schedule"], rule["schedule_when"]
        return rule


class BaseCallerRuleFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "ORDER" in form.fields:
            form.fields["ORDER"].label = "Position"
            form.fields["ORDER"].help_text = "Rules are checked from the lowest number up."
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Delete this rule"

    def rules(self):
        """(rules in order, the form each came from): deleted and empty rows left out."""
        forms_in_order = list(self.ordered_forms)
        return [f.rule() for f in forms_in_order], forms_in_order


CallerRuleFormSet = forms.formset_factory(
    CallerRuleForm, formset=BaseCallerRuleFormSet, extra=2, can_delete=True, can_order=True,
    max_num=50, validate_max=True,
)

RULES_PREFIX = "caller_rules"


def rules_initial(rules: list[dict]) -> list[dict]:
    return [
        {**rule, "callers": "\n".join(rule["callers"]), "ORDER": i,
         "schedule": (f"{rule.get('schedule_when') or 'during'}:{rule['schedule']}"
                      if rule.get("schedule") else "")}
        for i, rule in enumerate(rules, start=1)
    ]
