"""The small interface every provider adapter implements, and what crosses it.

`providers` is the ground floor: it never imports `forwarding` or `portal`. The portal
translates its models into `ForwardingState` and `Connection`, and gets `PushResult` back
or a `ProviderError` that says whether retrying can help.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ScheduleState:
    """A recurring schedule, in wall-clock values of the state's `time_zone`.

    kind "business_hours": `hours` is ((weekday, "HH:MM", "HH:MM"), ...), weekday one of
    WEEKDAYS, start < end, "24:00" allowed as an end. kind "holidays": `dates` is
    ((name, "YYYY-MM-DD" first day, "YYYY-MM-DD" last day inclusive, yearly), ...)."""

    name: str
    kind: str  # "business_hours" | "holidays"
    hours: tuple[tuple[str, str, str], ...] = ()
    dates: tuple[tuple[str, str, str, bool], ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind,
                "hours": [list(h) for h in self.hours],
                "dates": [list(d) for d in self.dates]}

    @classmethod
    def from_dict(cls, data: dict) -> ScheduleState:
        return cls(name=data["name"], kind=data["kind"],
                   hours=tuple(tuple(h) for h in data.get("hours") or ()),
                   dates=tuple(tuple(d) for d in data.get("dates") or ()))


@dataclass(frozen=True)
class CallerRuleState:
    """"Calls from these callers (during / outside this schedule) go to destination."
    `match_all`: every caller. `schedule` names one of the state's schedules; blank: at all
    times. Rules are ordered: the first that matches a call decides."""

    destination: str
    callers: tuple[str, ...] = ()
    match_anonymous: bool = False
    match_all: bool = False
    schedule: str = ""
    schedule_when: str = ""  # "during" | "outside" when schedule is set

    def to_dict(self) -> dict:
        data = asdict(self)
        data["callers"] = list(self.callers)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CallerRuleState:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["callers"] = tuple(values.get("callers") or ())
        return cls(**values)


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
    # Issue 16: the rest of a person's forwarding that some providers hold natively
    # (Webex selective forward, simultaneous ring options, schedules, do not disturb).
    simring_confirm: tuple[str, ...] = ()
    simring_skip_when_on_call: bool = False
    dnd_enabled: bool = False
    dnd_ring_splash: bool = False
    caller_rules: tuple[CallerRuleState, ...] = ()
    schedules: tuple[ScheduleState, ...] = ()
    time_zone: str = "UTC"
    # Set by a read-back only: what the provider holds that the portal's rules cannot
    # represent, one sentence each (adopting such a state is refused with them).
    readback_problems: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["simring_targets"] = list(self.simring_targets)
        data["simring_confirm"] = list(self.simring_confirm)
        data["readback_problems"] = list(self.readback_problems)
        data["caller_rules"] = [r.to_dict() for r in self.caller_rules]
        data["schedules"] = [s.to_dict() for s in self.schedules]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ForwardingState:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for name in ("simring_targets", "simring_confirm", "readback_problems"):
            if name in values:
                values[name] = tuple(values[name] or ())
        if "caller_rules" in values:
            values["caller_rules"] = tuple(CallerRuleState.from_dict(r)
                                           for r in values["caller_rules"] or ())
        if "schedules" in values:
            values["schedules"] = tuple(ScheduleState.from_dict(s)
                                        for s in values["schedules"] or ())
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

    def comparable(self, state: ForwardingState) -> tuple[ForwardingState, dict] | None:
        """A provider that holds more than flat settings (Webex: criteria, schedules)
        gives (the state whose flat settings it would hold for `state`, a normal form of
        the rest); drift compares both. None: compare the flat settings as they are
        (forwarding.sync.readback.comparable)."""
        return None

    def inexpressible(self, state: ForwardingState) -> list[str]:
        """Why the provider cannot hold `state` exactly, one sentence each."""
        return []
