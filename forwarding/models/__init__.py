"""A person's desired forwarding, provider-neutral, and its push state.

The settings row is also the outbox: `version > synced_version` means the provider does
not have the latest change yet. Services bump `version` on every change, in the same
transaction as the audit row; the pipeline records `synced_version` when a push lands.

Split by responsibility: settings (desired state, rules, sync, attempts), bulk (jobs and
drafts), calls (Graph call records), policy (destination policies
and their exceptions). Everything is importable from here as before.
"""

from forwarding.models.bulk import BulkDraft, BulkDraftRow, BulkJob, BulkJobRow
from forwarding.models.calls import CallRecord
from forwarding.models.permissions import MEMBER_FEATURES, MemberPermissions
from forwarding.models.policy import DestinationPolicy, PolicyException
from forwarding.models.settings import (
    DESTINATION_MAX,
    CallerRule,
    ForwardingSettings,
    ForwardingSettingsQuerySet,
    PushAttempt,
    SyncStatus,
)

__all__ = [
    "DESTINATION_MAX", "BulkDraft", "BulkDraftRow", "BulkJob", "BulkJobRow", "CallRecord",
    "CallerRule", "DestinationPolicy", "ForwardingSettings", "ForwardingSettingsQuerySet",
    "MEMBER_FEATURES", "MemberPermissions", "PolicyException", "PushAttempt", "SyncStatus",
]
