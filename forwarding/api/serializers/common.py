"""What the API's serializers share: enum components, org references, on whose behalf
the caller acts, and the strict JSON types of request fields."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forwarding.api.params import sent_as_json


def named_choice(component, choices, *, read=None, **kwargs):
    """A ChoiceField documented as its own enum component `component`: several answers
    have a `status` with different values, which drf-spectacular would otherwise name
    after a hash. `read`, when given, makes the value out of what the field's source
    holds (with `source="*"`: the object itself)."""
    values = [c[0] if isinstance(c, tuple | list) else c for c in choices]

    @extend_schema_field({"type": "string", "enum": values}, component_name=component)
    class NamedChoiceField(serializers.ChoiceField):
        def to_representation(self, value):
            return super().to_representation(read(value) if read is not None else value)

    return NamedChoiceField(choices=values, **kwargs)



# Reads an Organization (or nothing: null).
class OrgRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# The org of the object read, when the caller acts on it through a partner delegation
# (the object's `via_partner` is set); otherwise null. Documented as an OrgRef.
@extend_schema_field(OrgRefSerializer(allow_null=True))
class ActingForField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, value):
        if value.via_partner is None:
            return None
        return OrgRefSerializer(value.org).data


# Reads the object's `via_partner` and `org`.
class ActingMixin(serializers.Serializer):
    """On whose behalf the caller acts: both null unless through a partner delegation."""

    via_partner = OrgRefSerializer(
        allow_null=True, help_text="The partner org the caller acts for, through a "
        "delegation; null when the caller acts as the person or as the org's own admin.")
    acting_for = ActingForField(
        allow_null=True, help_text="The customer org the partner acts on; null unless "
        "via_partner is set.")


class TextField(serializers.CharField):
    """A string sent as a JSON string. DRF's CharField also takes 0 or 1.5 and makes "0" of
    it, which the schema (`type: string`) calls invalid: a number where a destination or
    a disposition belongs is a mistake to refuse, not to guess at."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FlagField(serializers.BooleanField):
    """true or false. In a JSON body DRF's BooleanField would also take 0, 1, "yes" or
    "on", which the schema (`type: boolean`) calls invalid; a form body has only text, so
    there the words still count."""

    def to_internal_value(self, data):
        if sent_as_json(self) and not isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)

