"""Shapes of the people answers (a person, their sync state) and of a person's forwarding,
read and written. Thin: they parse JSON types and describe the answers for OpenAPI; every
rule about forwarding values lives in `forwarding.rules.validation` and runs in the
service (so the API refuses exactly what the forms refuse, in the same words). The
answers read the objects of `forwarding.api.answers`."""

from __future__ import annotations

from rest_framework import serializers

from forwarding.api.params import INT_MAX, VersionField, WholeNumberField
from forwarding.api.serializers.common import (
    ActingForField,
    ActingMixin,
    FlagField,
    OrgRefSerializer,
    TextField,
    named_choice,
)
from forwarding.models import SyncStatus
from providers.capabilities import FEATURES, MATRIX
from providers.registry import KIND_CHOICES

# "In the provider's unit (rings for Webex Calling, seconds for Skype for Business (UCWA))."
NO_ANSWER_UNITS_HELP = "In the provider's unit ({}).".format(", ".join(
    f"{caps.no_answer_unit} for {caps.label}" for caps in MATRIX.values()
    if caps.no_answer_unit))


# Reads an answers.SyncAnswer.
class SyncSerializer(serializers.Serializer):
    status = named_choice("SyncStatus", [*SyncStatus.values, "none"],
                          help_text="none: the portal holds no settings for this person yet.")
    label = serializers.CharField()
    details = serializers.ListField(child=serializers.CharField())
    delivery = serializers.ChoiceField(choices=["push", "call_time", "manifest"])
    version = serializers.IntegerField(allow_null=True)
    synced_version = serializers.IntegerField(allow_null=True)
    behind = serializers.BooleanField(help_text="The provider does not have the latest "
                                      "version yet.")
    attempts = serializers.IntegerField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_synced_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)



class PersonSyncSerializer(SyncSerializer, ActingMixin):
    """A person's sync state, and on whose behalf the caller acts on it."""


# Reads an answers.PersonAnswer: the person's own fields, then what the request adds.
class PersonSerializer(ActingMixin):
    id = serializers.IntegerField(source="person.id")
    display_name = serializers.CharField(source="person.display_name")
    email = serializers.CharField(source="person.email", allow_blank=True)
    phone_number = serializers.CharField(source="person.phone_number", allow_blank=True)
    extension = serializers.CharField(source="person.extension", allow_blank=True)
    sip_uri = serializers.CharField(source="person.sip_uri", allow_blank=True)
    provider_person_id = serializers.CharField(source="person.provider_person_id")
    org = OrgRefSerializer()
    provider_kind = serializers.ChoiceField(source="org.provider_kind", choices=KIND_CHOICES)
    is_self = serializers.BooleanField(help_text="This line belongs to the caller.")
    summary = serializers.CharField(help_text="What is on, in a few words.")
    sync = SyncSerializer()


# --- forwarding settings ----------------------------------------------------------------------


def _destination(**kwargs):
    # No length or format checks here: validation.normalize_destination says what is wrong.
    return TextField(required=False, allow_blank=True, allow_null=True,
                     trim_whitespace=False, **kwargs)


def _flag():
    return FlagField(required=False)


def _count(**kwargs):
    # The range of an integer column; the provider's own limits, with their messages, are
    # forwarding.rules.validation's.
    return WholeNumberField(min_value=0, max_value=INT_MAX, required=False, allow_null=True,
                            **kwargs)


class CallerRuleSerializer(serializers.Serializer):
    callers = serializers.ListField(child=TextField(allow_blank=True),
                                    required=False, help_text="Numbers or SIP URIs.")
    match_anonymous = _flag()
    match_all = FlagField(required=False, help_text="Every caller (then leave `callers` "
                          "empty and `match_anonymous` false).")
    destination = _destination()
    disposition = TextField(required=False, help_text="forward or redirect.")
    mask_caller = _flag()
    mask_callee = _flag()
    schedule = TextField(required=False, allow_blank=True, help_text="The name of one of "
                         "the person's `schedules`: the rule applies only during or outside "
                         "it. Empty: at all times.")
    schedule_when = TextField(required=False, allow_blank=True,
                              help_text="during or outside (with a schedule).")


class HolidaySerializer(serializers.Serializer):
    name = TextField(help_text="1-80 characters, unique in its schedule.")
    start = TextField(help_text="First day, YYYY-MM-DD.")
    end = TextField(required=False, allow_blank=True,
                    help_text="Last day (included), YYYY-MM-DD; the first day when empty.")
    yearly = FlagField(required=False, help_text="Comes back on the same days every year.")


def _intervals():
    # One field per weekday (a shared instance would be bound to one name only).
    return serializers.ListField(
        child=serializers.ListField(child=TextField(), min_length=2, max_length=2),
        required=False, help_text='[["09:00", "12:00"], ["13:00", "17:00"]]: start and end '
        'as HH:MM in the person\'s time zone, "24:00" allowed as an end.')


class HoursSerializer(serializers.Serializer):
    """A weekday's intervals, for business hours."""

    monday = _intervals()
    tuesday = _intervals()
    wednesday = _intervals()
    thursday = _intervals()
    friday = _intervals()
    saturday = _intervals()
    sunday = _intervals()


class ScheduleSerializer(serializers.Serializer):
    """A schedule that caller rules can refer to by name. Business hours list intervals per
    weekday, holidays list dates; both are read on the wall clock of the person's time
    zone, so they follow daylight saving."""

    name = TextField(help_text="1-80 characters, unique among the person's schedules.")
    kind = TextField(help_text="business_hours or holidays.")
    hours = HoursSerializer(required=False, help_text="For business_hours.")
    dates = HolidaySerializer(many=True, required=False, help_text="For holidays (at most "
                              "100).")


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    org = OrgRefSerializer()


# Reads an answers.ForwardingAnswer.
class ForwardingSerializer(ActingMixin):
    """A person's forwarding. Send it back with PUT (omitted settings are off/empty) or
    just the settings to change with PATCH; read-only fields sent back are ignored;
    any other unknown field is refused."""

    version = VersionField(
        required=False, help_text="The version you read. Required on PUT/PATCH unless an "
        "If-Match header carries it.")

    always_enabled = _flag()
    always_destination = _destination()
    always_ring_reminder = _flag()
    always_voicemail = _flag()
    busy_enabled = _flag()
    busy_destination = _destination()
    busy_voicemail = _flag()
    no_answer_enabled = _flag()
    no_answer_destination = _destination()
    no_answer_ring_after = _count(help_text=NO_ANSWER_UNITS_HELP)
    no_answer_voicemail = _flag()
    continuity_enabled = _flag()
    continuity_destination = _destination()
    continuity_voicemail = _flag()
    simring_enabled = _flag()
    simring_targets = serializers.ListField(
        child=TextField(allow_blank=True, trim_whitespace=False), required=False)
    simring_timeout = _count(help_text="Seconds.")
    simring_confirm = serializers.ListField(
        child=TextField(allow_blank=True, trim_whitespace=False), required=False,
        help_text="Some of `simring_targets`: whoever answers there presses a key to take "
        "the call (Webex answer confirmation).")
    simring_skip_when_on_call = FlagField(
        required=False, help_text="Do not ring `simring_targets` while the person is on a "
        "call.")
    dnd_enabled = FlagField(required=False, help_text="Do not disturb: the person's phone "
                            "does not ring and calls are treated as busy.")
    dnd_ring_splash = FlagField(required=False, help_text="A short ring on the phone while "
                                "do not disturb is on.")
    schedules = ScheduleSerializer(many=True, required=False, help_text="At most 20.")
    window_enabled = _flag()
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    window_destination = _destination()
    caller_rules = CallerRuleSerializer(many=True, required=False)
    # A JSON boolean only, like every flag here (FlagField): 0, "yes" or "true" are refused.
    confirm_loops = FlagField(
        write_only=True, required=False,
        help_text="Save even though the change makes a forwarding loop through busy, no "
        "answer or offline forwarding (\"when Ada is busy, calls bounce between Ada and "
        "Grace\"). Without it such a change answers 400 with the warnings in `errors` and "
        "`confirm: \"confirm_loops\"`. A loop through always-forward is refused anyway.")

    person = PersonRefSerializer(read_only=True)
    window_state = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by_label = serializers.CharField(read_only=True)
    supported_features = serializers.ListField(
        child=serializers.ChoiceField(choices=FEATURES), read_only=True)
    sync = SyncSerializer(read_only=True)
    via_partner = OrgRefSerializer(read_only=True, allow_null=True)
    acting_for = ActingForField(read_only=True, allow_null=True)
