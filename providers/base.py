"""The small interface every provider adapter implements, and what crosses it.

`providers` is the ground floor: it never imports `forwarding` or `portal`. The portal
translates its models into `ForwardingState` and `Connection`, and gets `PushResult` back
or a `ProviderError` that says whether retrying can help.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class ForwardingState:
    """Provider-neutral desired (or observed) forwarding of one person."""

    always_enabled: bool = False
    always_destination: str = ""
    always_ring_reminder: bool = False
    always_voicemail: bool = False
    busy_enabled: bool = False
    busy_destination: str = ""
    busy_voicemail: bool = False
    no_answer_enabled: bool = False
    no_answer_destination: str = ""
    no_answer_ring_after: int | None = None
    no_answer_voicemail: bool = False
    continuity_enabled: bool = False
    continuity_destination: str = ""
    continuity_voicemail: bool = False
    simring_enabled: bool = False
    simring_targets: tuple[str, ...] = ()
    simring_timeout: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["simring_targets"] = list(self.simring_targets)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ForwardingState:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "simring_targets" in values:
            values["simring_targets"] = tuple(values["simring_targets"] or ())
        return cls(**values)


@dataclass(frozen=True)
class Connection:
    """Where and as whom to reach a provider for one organisation.

    `acting_org_id` is set when a partner acts for a customer org: the partner's token is
    used and the customer's id travels as Webex's `orgId` query parameter.
    """

    base_url: str
    token: str
    org_id: str = ""
    acting_org_id: str = ""
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    status_code: int
    tracking_id: str = ""
    requests: int = 1
    summary: str = ""


class ProviderError(Exception):
    """A provider call failed.

    permanent: retrying the same request cannot help (bad input, no permission, unknown
    person); the pipeline stops and shows `message` to a person.
    retry_after: seconds the provider asked us to wait (429, 503, 423), if it said so.
    raw: the provider's body, for the log only, never for a page.
    """

    def __init__(self, message, *, permanent, status_code=None, retry_after=None, raw="",
                 tracking_id=""):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code
        self.retry_after = retry_after
        self.raw = raw
        self.tracking_id = tracking_id


class Provider:
    """Interface of a push provider. Call-time and manifest providers implement only
    what applies to them; `delivery` in their capabilities says which road they take."""

    kind: str = ""

    def push(self, conn: Connection, person_ref: str, state: ForwardingState) -> PushResult:
        raise NotImplementedError

    def fetch(self, conn: Connection, person_ref: str) -> ForwardingState:
        raise NotImplementedError
