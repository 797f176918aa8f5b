"""Webex Calling person settings beyond call forwarding: typed values and their wire form.

Selective forward and its criteria, simultaneous ring, person schedules (with events)
and do not disturb, with the field names of Webex's public API reference
(docs/webex-person-settings.md gives each source).  The HTTP calls are in
`providers.webex_settings_api`.  Everything here is frozen, so a desired value can be
compared with what Webex answers (`matches`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
BUSINESS_HOURS = "businessHours"
HOLIDAYS = "holidays"
MAX_SIMRING_NUMBERS = 10


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _flag(value) -> bool:
    return value is True


def _numbers(value) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(n for n in value if isinstance(n, str) and n)


# --- selective forward --------------------------------------------------------------------


@dataclass(frozen=True)
class SelectiveForward:
    enabled: bool = False
    default_phone_number_to_forward: str = ""
    ring_reminder_enabled: bool = False
    destination_voicemail_enabled: bool = False

    def to_wire(self) -> dict:
        return {
            "enabled": self.enabled,
            "defaultPhoneNumberToForward": self.default_phone_number_to_forward,
            "ringReminderEnabled": self.ring_reminder_enabled,
            "destinationVoicemailEnabled": self.destination_voicemail_enabled,
        }

    @classmethod
    def from_wire(cls, body: dict) -> SelectiveForward:
        return cls(
            enabled=_flag(body.get("enabled")),
            default_phone_number_to_forward=_text(body.get("defaultPhoneNumberToForward")),
            ring_reminder_enabled=_flag(body.get("ringReminderEnabled")),
            destination_voicemail_enabled=_flag(body.get("destinationVoicemailEnabled")),
        )


ANY_PHONE_NUMBER = "ANY_PHONE_NUMBER"
SELECT_PHONE_NUMBERS = "SELECT_PHONE_NUMBERS"
ANY_INTERNAL = "ANY_INTERNAL"
ANY_EXTERNAL = "ANY_EXTERNAL"


@dataclass(frozen=True)
class Criterion:
    """One selective-forward criterion: calls from `calls_from` (and, for
    SELECT_PHONE_NUMBERS, `phone_numbers` plus anonymous/unavailable callers) during
    the named schedule (none: at all times) go to `forward_to_phone_number`, or, with
    `forward_enabled` False, are exempted from selective forwarding."""

    forward_to_phone_number: str
    calls_from: str = ANY_PHONE_NUMBER
    phone_numbers: tuple[str, ...] = ()
    anonymous_callers_enabled: bool = False
    unavailable_callers_enabled: bool = False
    schedule_name: str = ""
    schedule_type: str = ""  # businessHours | holidays, with a schedule_name
    schedule_level: str = "PEOPLE"
    send_to_voicemail_enabled: bool = False
    forward_enabled: bool = True
    id: str = field(default="", compare=False)  # Webex's, once created

    def to_wire(self) -> dict:
        body = {
            "forwardToPhoneNumber": self.forward_to_phone_number,
            "sendToVoicemailEnabled": self.send_to_voicemail_enabled,
        }
        if self.schedule_name:
            body.update(scheduleName=self.schedule_name, scheduleType=self.schedule_type,
                        scheduleLevel=self.schedule_level)
        body.update(
            callsFrom=self.calls_from,
            anonymousCallersEnabled=self.anonymous_callers_enabled,
            unavailableCallersEnabled=self.unavailable_callers_enabled,
            phoneNumbers=list(self.phone_numbers),
            forwardEnabled=self.forward_enabled,
        )
        return body

    @classmethod
    def from_wire(cls, body: dict) -> Criterion:
        name = _text(body.get("scheduleName"))
        return cls(
            id=_text(body.get("id")),
            forward_to_phone_number=_text(body.get("forwardToPhoneNumber")),
            calls_from=_text(body.get("callsFrom")) or ANY_PHONE_NUMBER,
            phone_numbers=_numbers(body.get("phoneNumbers")),
            anonymous_callers_enabled=_flag(body.get("anonymousCallersEnabled")),
            unavailable_callers_enabled=_flag(body.get("unavailableCallersEnabled")),
            schedule_name=name,
            schedule_type=_text(body.get("scheduleType")) if name else "",
            schedule_level=(_text(body.get("scheduleLevel")) or "PEOPLE") if name else "PEOPLE",
            # Webex's person reference names it sendToVoicemailEnabled; its "me" variant
            # answers destinationVoicemailEnabled: read either.
            send_to_voicemail_enabled=_flag(body.get("sendToVoicemailEnabled",
                                                     body.get("destinationVoicemailEnabled"))),
            forward_enabled=body.get("forwardEnabled") is not False,
        )

    def key(self) -> tuple:
        """What makes two criteria the same rule (the id aside); the order of the
        selected numbers does not matter."""
        return (self.forward_to_phone_number, self.calls_from, frozenset(self.phone_numbers),
                self.anonymous_callers_enabled, self.unavailable_callers_enabled,
                self.schedule_name, self.schedule_type if self.schedule_name else "",
                self.schedule_level if self.schedule_name else "",
                self.send_to_voicemail_enabled, self.forward_enabled)

    def with_id(self, criterion_id: str) -> Criterion:
        return replace(self, id=criterion_id)


# --- simultaneous ring --------------------------------------------------------------------


@dataclass(frozen=True)
class SimRingNumber:
    phone_number: str
    answer_confirmation_enabled: bool = False


@dataclass(frozen=True)
class SimultaneousRing:
    enabled: bool = False
    do_not_ring_if_on_call_enabled: bool = False
    phone_numbers: tuple[SimRingNumber, ...] = ()
    criterias_enabled: bool = False

    def to_wire(self) -> dict:
        return {
            "enabled": self.enabled,
            "doNotRingIfOnCallEnabled": self.do_not_ring_if_on_call_enabled,
            "phoneNumbers": [
                {"phoneNumber": n.phone_number,
                 "answerConfirmationEnabled": n.answer_confirmation_enabled}
                for n in self.phone_numbers
            ],
            "criteriasEnabled": self.criterias_enabled,
        }

    @classmethod
    def from_wire(cls, body: dict) -> SimultaneousRing:
        numbers = body.get("phoneNumbers")
        entries = []
        for entry in numbers if isinstance(numbers, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("phoneNumber"), str):
                confirm = entry.get("answerConfirmationEnabled",
                                    entry.get("answerConfirmationRequiredEnabled"))
                entries.append(SimRingNumber(entry["phoneNumber"], _flag(confirm)))
        return cls(
            enabled=_flag(body.get("enabled")),
            do_not_ring_if_on_call_enabled=_flag(body.get("doNotRingIfOnCallEnabled")),
            phone_numbers=tuple(entries),
            criterias_enabled=_flag(body.get("criteriasEnabled")),
        )


# --- do not disturb -----------------------------------------------------------------------


@dataclass(frozen=True)
class DoNotDisturb:
    enabled: bool = False
    ring_splash_enabled: bool = False
    webex_go_override_enabled: bool = False

    def to_wire(self) -> dict:
        return {"enabled": self.enabled, "ringSplashEnabled": self.ring_splash_enabled,
                "webexGoOverrideEnabled": self.webex_go_override_enabled}

    @classmethod
    def from_wire(cls, body: dict) -> DoNotDisturb:
        return cls(enabled=_flag(body.get("enabled")),
                   ring_splash_enabled=_flag(body.get("ringSplashEnabled")),
                   webex_go_override_enabled=_flag(body.get("webexGoOverrideEnabled")))


# --- schedules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """Either weekly on `weekly_days` every `interval` weeks, or daily every
    `interval` days; for ever, until `end_date`, or for `end_occurrence` times."""

    weekly_days: tuple[str, ...] = ()  # names from WEEKDAYS; empty: daily
    interval: int = 1
    for_ever: bool = True
    end_date: str = ""
    end_occurrence: int | None = None

    def to_wire(self) -> dict:
        body: dict = {"recurForEver": self.for_ever}
        if self.end_date:
            body["recurEndDate"] = self.end_date
        if self.end_occurrence is not None:
            body["recurEndOccurrence"] = self.end_occurrence
        if self.weekly_days:
            weekly: dict = {"recurInterval": self.interval}
            weekly.update({day: day in self.weekly_days for day in WEEKDAYS})
            body["recurWeekly"] = weekly
        else:
            body["recurDaily"] = {"recurInterval": self.interval}
        return body

    @classmethod
    def from_wire(cls, body: dict) -> Recurrence | None:
        weekly, daily = body.get("recurWeekly"), body.get("recurDaily")
        source = weekly if isinstance(weekly, dict) else daily
        if not isinstance(source, dict):
            return None
        interval = source.get("recurInterval")
        occurrence = body.get("recurEndOccurrence")
        return cls(
            weekly_days=tuple(d for d in WEEKDAYS if source.get(d) is True) if weekly else (),
            interval=interval if isinstance(interval, int) and interval > 0 else 1,
            for_ever=_flag(body.get("recurForEver")),
            end_date=_text(body.get("recurEndDate")),
            end_occurrence=occurrence if isinstance(occurrence, int) else None,
        )


@dataclass(frozen=True)
class ScheduleEvent:
    """Dates are YYYY-MM-DD, times HH:MM (24 h), as Webex writes them; an all-day
    event has no times."""

    name: str
    start_date: str
    end_date: str
    start_time: str = ""
    end_time: str = ""
    all_day_enabled: bool = False
    recurrence: Recurrence | None = None
    id: str = field(default="", compare=False)

    def to_wire(self) -> dict:
        body: dict = {"name": self.name, "startDate": self.start_date, "endDate": self.end_date}
        if not self.all_day_enabled:
            body.update(startTime=self.start_time, endTime=self.end_time)
        body["allDayEnabled"] = self.all_day_enabled
        if self.recurrence is not None:
            body["recurrence"] = self.recurrence.to_wire()
        return body

    @classmethod
    def from_wire(cls, body: dict) -> ScheduleEvent:
        all_day = _flag(body.get("allDayEnabled"))
        rec = body.get("recurrence")
        return cls(
            id=_text(body.get("id")), name=_text(body.get("name")),
            start_date=_text(body.get("startDate")), end_date=_text(body.get("endDate")),
            start_time="" if all_day else _text(body.get("startTime")),
            end_time="" if all_day else _text(body.get("endTime")),
            all_day_enabled=all_day,
            recurrence=Recurrence.from_wire(rec) if isinstance(rec, dict) else None,
        )


@dataclass(frozen=True)
class Schedule:
    name: str
    type: str  # businessHours | holidays
    events: tuple[ScheduleEvent, ...] = ()
    level: str = field(default="PEOPLE", compare=False)  # PEOPLE | GROUP (| LOCATION)
    id: str = field(default="", compare=False)

    def to_wire(self) -> dict:
        return {"name": self.name, "type": self.type,
                "events": [e.to_wire() for e in self.events]}

    @classmethod
    def from_wire(cls, body: dict) -> Schedule:
        events = body.get("events")
        return cls(
            id=_text(body.get("id")), name=_text(body.get("name")), type=_text(body.get("type")),
            level=_text(body.get("level")) or "PEOPLE",
            events=tuple(ScheduleEvent.from_wire(e) for e in events or () if isinstance(e, dict)),
        )

    def same_events(self, other: Schedule) -> bool:
        """Equal events whatever their order (Webex keeps its own)."""
        def key(event):
            return event.name
        return sorted(self.events, key=key) == sorted(other.events, key=key)
