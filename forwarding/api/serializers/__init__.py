"""Shapes of the API's requests and answers, one module per resource. The serializers are
the answers' shape: each reads a model row or a combined object of
`forwarding.api.answers` (a row with what the request adds), so the views build no
response dicts, and drf-spectacular describes the answers from them. Thin: they parse
JSON types; every rule about forwarding values lives in `forwarding.rules.validation`."""

from forwarding.api.serializers.bulk import (
    BulkDraftSerializer,
    BulkEditSerializer,
    BulkJobRowSerializer,
    BulkJobSerializer,
    ChangeSerializer,
    DraftApplySerializer,
    DryRunRowSerializer,
    DryRunSerializer,
    ImportSerializer,
    ProgressSerializer,
)
from forwarding.api.serializers.common import (
    ActingMixin,
    FlagField,
    OrgRefSerializer,
    TextField,
    named_choice,
)
from forwarding.api.serializers.orgs import (
    AuditEventSerializer,
    DelegationGrantSerializer,
    DelegationSerializer,
    OrganizationSerializer,
)
from forwarding.api.serializers.people import (
    CallerRuleSerializer,
    ForwardingSerializer,
    PersonRefSerializer,
    PersonSerializer,
    PersonSyncSerializer,
    SyncSerializer,
    TimeZoneSerializer,
)

__all__ = [
    "TimeZoneSerializer",
    "ActingMixin", "AuditEventSerializer", "BulkDraftSerializer", "BulkEditSerializer",
    "BulkJobRowSerializer", "BulkJobSerializer", "CallerRuleSerializer", "ChangeSerializer",
    "DelegationGrantSerializer", "DelegationSerializer", "DraftApplySerializer",
    "DryRunRowSerializer",
    "DryRunSerializer", "FlagField", "ForwardingSerializer", "ImportSerializer",
    "OrgRefSerializer", "OrganizationSerializer", "PersonRefSerializer", "PersonSerializer",
    "PersonSyncSerializer", "ProgressSerializer", "SyncSerializer", "TextField",
    "named_choice",
]
