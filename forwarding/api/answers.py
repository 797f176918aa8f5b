"""The objects the API's answers read where one model row is not enough: a row together
with what the request adds (on whose behalf the caller acts, the sync state, a dry run's
first page). Reads only, like a selector; their shape is the serializers'
(`forwarding.api.serializers`), which read these attributes by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forwarding.rules import selectors, services
from providers.capabilities import FEATURES


@dataclass(frozen=True)
class SyncAnswer:
    """A person's sync state: the badge the pages show plus the raw facts. `org` and
    `via_partner` say on whose behalf the caller asks (PersonSyncSerializer)."""

    status: str
    label: str
    details: list
    delivery: str
    version: int | None = None
    synced_version: int | None = None
    behind: bool = False
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_synced_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""
    org: Any = None
    via_partner: Any = None


def sync_answer(settings, caps, *, org=None, via_partner=None) -> SyncAnswer:
    """The sync state of a settings row (None: nothing stored yet)."""
    view = selectors.sync_view(settings, caps)
    common = {"label": view["label"], "details": view["details"], "delivery": caps.delivery,
              "org": org, "via_partner": via_partner}
    if settings is None:
        return SyncAnswer(status="none", **common)
    return SyncAnswer(
        status=settings.sync_status, version=settings.version,
        synced_version=settings.synced_version,
        behind=settings.version > settings.synced_version,
        attempts=settings.sync_attempts, last_attempt_at=settings.last_attempt_at,
        last_synced_at=settings.last_synced_at, next_attempt_at=settings.next_attempt_at,
        last_error=settings.last_error, **common)


@dataclass(frozen=True)
class PersonAnswer:
    person: Any
    is_self: bool
    summary: str
    sync: SyncAnswer
    via_partner: Any

    @property
    def org(self):
        return self.person.org


def person_answer(person, *, user, via_partner) -> PersonAnswer:
    """`person.forwarding`: their settings row, or None when nothing is stored."""
    caps = selectors.caps_for_org(person.org)
    settings = getattr(person, "forwarding", None)
    return PersonAnswer(person=person, is_self=person.user_id == user.id,
                        summary=selectors.short_summary(settings, caps),
                        sync=sync_answer(settings, caps), via_partner=via_partner)


@dataclass(frozen=True)
class ForwardingAnswer:
    """A person's forwarding: the editable values as `services.values` reads them (the
    same values the audit log records), then the row's state and what the request adds.
    A setting's value is read as an attribute (`answer.always_enabled`)."""

    settings: Any
    person: Any
    values: dict
    supported_features: list
    sync: SyncAnswer
    via_partner: Any

    def __getattr__(self, name):
        # Only reached for names that are not fields: the settings' values.
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def org(self):
        return self.person.org

    @property
    def version(self):
        return self.settings.version

    @property
    def window_state(self):
        return self.settings.window_state

    @property
    def updated_at(self):
        return self.settings.updated_at if self.settings.pk is not None else None

    @property
    def updated_by_label(self):
        return self.settings.updated_by_label


def forwarding_answer(settings, person, *, via_partner) -> ForwardingAnswer:
    """`settings`: the stored row, or an unsaved one with everything off."""
    caps = selectors.caps_for(person)
    saved = settings.pk is not None
    return ForwardingAnswer(
        settings=settings, person=person, values=services.values(settings),
        supported_features=[f for f in FEATURES if caps.supports(f)],
        sync=sync_answer(settings if saved else None, caps), via_partner=via_partner)


@dataclass(frozen=True)
class DryRunAnswer:
    """A dry run: a bulk edit's plan (every row) or a stored CSV dry run (`draft`, its
    first page of rows and the link to the next)."""

    org: Any
    total: int
    valid: int
    invalid: int
    changing: int
    rows: list
    errors: list = field(default_factory=list)
    draft: int | None = None
    expires_at: datetime | None = None
    rows_next: str | None = None
    via_partner: Any = None


def plan_dry_run(plan, *, via_partner) -> DryRunAnswer:
    """The answer of a bulk.plan.Plan."""
    return DryRunAnswer(org=plan.org, total=len(plan.rows), valid=plan.valid,
                        invalid=plan.invalid, changing=plan.changing, rows=plan.rows,
                        errors=plan.file_errors, via_partner=via_partner)


def draft_dry_run(draft, *, rows, rows_next) -> DryRunAnswer:
    """The answer of a ready BulkDraft with its first page of `rows`."""
    return DryRunAnswer(org=draft.org, total=draft.rows_total, valid=draft.valid,
                        invalid=draft.invalid, changing=draft.changing, rows=rows,
                        draft=draft.pk, expires_at=draft.expires_at, rows_next=rows_next,
                        via_partner=draft.via_partner)
