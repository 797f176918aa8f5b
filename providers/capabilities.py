"""What each provider kind can do, in one place: features, limits and units.

Pages show only supported features (and say why the rest is missing), and the forwarding
services refuse unsupported settings with the same reasons, whatever the client sends.
Limits come from the provider documents in the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

FEATURES = (
    "always",
    "busy",
    "no_answer",
    "continuity",
    "simring",
    "caller_rules",
    "time_window",
    "schedules",
    "dnd",
)

FEATURE_LABELS = {
    "always": "Always forward",
    "busy": "Forward when busy",
    "no_answer": "Forward when not answered",
    "continuity": "Forward when offline (business continuity)",
    "simring": "Simultaneous ring",
    "caller_rules": "Rules per caller",
    "time_window": "Time window",
    "schedules": "Schedules (business hours and holidays)",
    "dnd": "Do not disturb",
}

# The portal's own bound on a destination where the provider documents none (Webex's
# callForwarding, Graph's redirect targets, an MSPL manifest): room for any SIP URI people
# use, small enough for pages, manifests and the database columns. Also the most a typed
# destination or caller may hold before it is read at all.
PORTAL_DESTINATION_MAX_LENGTH = 200

# Options inside a feature. Each can be missing on a provider that has the feature.
OPTIONS = ("ring_reminder", "voicemail", "disposition", "masking", "answer_confirmation",
           "skip_when_on_call", "ring_splash")

OPTION_LABELS = {
    "ring_reminder": "Ring reminder",
    "voicemail": "Send to the destination's voicemail",
    "disposition": "Choose forward or redirect",
    "masking": "Hide the caller's or your number",
    "answer_confirmation": "Ask whoever answers a simultaneous-ring number to press a key",
    "skip_when_on_call": "Do not ring the other numbers while you are on a call",
    "ring_splash": "A short ring on your phone while do not disturb is on",
}

# How a change reaches the provider, in words for pages.
DELIVERY_WORDS = {
    "push": "sent to {label} by the portal",
    "call_time": "applied by the portal when the next call arrives",
    "manifest": "part of the MSPL manifest an admin downloads and deploys",
}


@dataclass(frozen=True)
class Capabilities:
    kind: str
    label: str
    # push: the portal sends stored settings; call_time: the provider asks per call;
    # manifest: an admin deploys a generated script.
    delivery: str
    # feature -> reason it is missing (None when supported)
    unsupported: dict = field(default_factory=dict)
    ring_reminder: bool = False
    voicemail: bool = False
    no_answer_unit: str | None = None  # "rings" or "seconds"
    no_answer_min: int | None = None
    no_answer_max: int | None = None
    no_answer_default: int | None = None
    simring_max_targets: int = 0
    simring_timeout_min: int | None = None
    simring_timeout_max: int | None = None
    simring_timeout_default_one: int | None = None
    simring_timeout_default_many: int | None = None
    dispositions: tuple[str, ...] = ()
    masking: bool = False
    # Where the person's own maximum of the no-answer count lives in Person.provider_data
    # (Webex reports systemMaxNumberOfRings per person).
    no_answer_max_key: str | None = None
    # Options that only a newer API version offers: option -> version that has them.
    options_need_version: dict = field(default_factory=dict)
    # option -> reason it is missing, where the generic sentence would not be precise.
    option_reasons: dict = field(default_factory=dict)
    # The longest destination the provider takes, counted as it travels: with
    # `number_uri_prefix` in front of a number (UCWA sends "tel:+1..."). Documented by the
    # provider when `destination_limit_documented`, else the portal's own bound.
    destination_max_length: int = PORTAL_DESTINATION_MAX_LENGTH
    destination_limit_documented: bool = False
    number_uri_prefix: str = ""
    # Why a sips: destination cannot be sent (None when it can).
    sips_reason: str | None = None
    # feature -> how a supported feature works with this provider, for pages and docs.
    notes: dict = field(default_factory=dict)
    # Simultaneous ring options (Webex: answerConfirmationEnabled per number,
    # doNotRingIfOnCallEnabled) and do not disturb's ring splash (Webex ringSplashEnabled).
    answer_confirmation: bool = False
    skip_when_on_call: bool = False
    ring_splash: bool = False
    # Whether a caller rule may apply only during or outside one of the person's
    # schedules; the reason when it may not (and the provider has caller rules).
    rule_schedule_reason: str | None = None

    def supports(self, feature: str) -> bool:
        if feature not in FEATURES:
            raise KeyError(f"unknown forwarding feature {feature!r}")
        return feature not in self.unsupported

    def reason(self, feature: str) -> str | None:
        return self.unsupported.get(feature)

    def note(self, feature: str) -> str | None:
        """How a supported feature works with this provider (None: nothing to add)."""
        return self.notes.get(feature) if self.supports(feature) else None

    def features(self):
        """(feature, label, supported, reason) for every feature, for pages."""
        return [
            (f, FEATURE_LABELS[f], f not in self.unsupported, self.unsupported.get(f))
            for f in FEATURES
        ]

    def has_option(self, option: str) -> bool:
        if option == "ring_reminder":
            return self.ring_reminder
        if option == "voicemail":
            return self.voicemail
        if option == "disposition":
            return len(self.dispositions) > 1
        if option == "masking":
            return self.masking
        if option in ("answer_confirmation", "skip_when_on_call", "ring_splash"):
            return getattr(self, option)
        raise KeyError(f"unknown forwarding option {option!r}")

    def option_reason(self, option: str) -> str | None:
        """Why `option` is missing (None when it is there)."""
        if self.has_option(option):
            return None
        if option in self.option_reasons:
            return self.option_reasons[option]
        return {
            "ring_reminder": f"{self.label} plays no ring reminder for forwarded calls.",
            "voicemail": f"{self.label} cannot send a forwarded call to the destination's "
            "voicemail.",
            "disposition": f"{self.label} always forwards; the caller is not told.",
            "masking": f"{self.label} cannot hide the caller's or the callee's number.",
            "answer_confirmation": f"{self.label} cannot ask whoever answers a "
            "simultaneous-ring number to confirm with a key.",
            "skip_when_on_call": f"{self.label} cannot hold back the other numbers while "
            "you are on a call.",
            "ring_splash": f"{self.label} plays no short ring while do not disturb is on.",
        }[option]

    def rules_take_schedules(self) -> bool:
        """Whether a caller rule may apply only during or outside a schedule: the one
        question pages, validation and routing ask about it."""
        return (self.supports("caller_rules") and self.supports("schedules")
                and self.rule_schedule_reason is None)

    def schedule_reason(self) -> str | None:
        """Why a caller rule cannot carry a schedule (None when it can)."""
        if self.rules_take_schedules():
            return None
        return (self.rule_schedule_reason or self.reason("schedules")
                or self.reason("caller_rules"))

    def options(self):
        """(option, label, available, reason) for every option, for pages."""
        return [
            (o, OPTION_LABELS[o], self.has_option(o), self.option_reason(o)) for o in OPTIONS
        ]

    def no_answer_bounds(self, provider_data: dict | None = None) -> tuple[int, int] | None:
        """(min, max) of the no-answer count in `no_answer_unit`, for one person."""
        if self.no_answer_unit is None:
            return None
        maximum = self.no_answer_max
        if self.no_answer_max_key and provider_data:
            try:
                own = int(provider_data.get(self.no_answer_max_key, maximum))
            except (TypeError, ValueError):
                own = maximum
            # The provider's per-person maximum can only lower the documented one.
            if self.no_answer_min <= own <= maximum:
                maximum = own
        return self.no_answer_min, maximum

    def destination_wire_length(self, destination: str) -> int:
        """The length of a stored destination as the provider receives it."""
        if destination.lower().startswith(("sip:", "sips:", "tel:")):
            return len(destination)
        return len(self.number_uri_prefix) + len(destination)

    def destination_length_problem(self, destination: str) -> str | None:
        """Why a stored destination is too long for this provider (None when it fits)."""
        length = self.destination_wire_length(destination)
        if length <= self.destination_max_length:
            return None
        whose = (f"{self.label}'s limit" if self.destination_limit_documented
                 else f"the portal's limit for {self.label}")
        counted = (f", counting the {self.number_uri_prefix} it puts before a number"
                   if self.number_uri_prefix and length != len(destination) else "")
        return (f"Use at most {self.destination_max_length} characters ({whose}{counted}); "
                f"this one has {length}.")

    def simring_timeout_default(self, target_count: int) -> int | None:
        """The provider's own ring timeout when none is chosen (Graph: 55 s for one target,
        60 s for several)."""
        if target_count <= 1:
            return self.simring_timeout_default_one
        return self.simring_timeout_default_many

    def for_api_version(self, version: str | None) -> Capabilities:
        """The capabilities an org gets on API `version` (Graph v1.0 has neither
        targetDisposition nor maskCaller/maskCallee; beta has both)."""
        missing = [o for o, v in self.options_need_version.items() if v != version]
        if not missing:
            return self
        changes = {}
        reasons = dict(self.option_reasons)
        for option in missing:
            need = self.options_need_version[option]
            reasons[option] = (
                f"Needs the Microsoft Graph {need} API; this organization uses "
                f"{version or 'another version'}."
            )
            if option == "masking":
                changes["masking"] = False
            elif option == "disposition":
                changes["dispositions"] = ("forward",)
        return replace(self, option_reasons=reasons, **changes)


WEBEX = Capabilities(
    kind="webex",
    label="Webex Calling",
    delivery="push",
    # Every feature is Webex's own: callForwarding, selectiveForward (rules per caller and
    # per schedule), simultaneousRing, the person's schedules and doNotDisturb.
    unsupported={},
    ring_reminder=True,
    voicemail=True,
    no_answer_unit="rings",
    no_answer_min=2,
    no_answer_max=20,  # systemMaxNumberOfRings; a person's own maximum may be lower
    no_answer_default=3,
    no_answer_max_key="systemMaxNumberOfRings",
    # simultaneousRing takes at most 10 numbers and rings them for as long as the
    # person's no-answer setting: no timeout of its own.
    simring_max_targets=10,
    answer_confirmation=True,
    skip_when_on_call=True,
    ring_splash=True,
    notes={
        "caller_rules": "Sent to Webex as selective forwarding criteria, in order.",
        "schedules": "Sent to Webex as the person's own schedules (business hours, "
        "holidays), read in the person's time zone.",
    },
    # Seed 001 documents no length for a destination: the portal's own bound applies.
)

UCWA = Capabilities(
    kind="ucwa",
    label="Skype for Business (UCWA)",
    delivery="push",
    unsupported={
        "busy": "Skype for Business has no separate forwarding when busy.",
        "continuity": "Skype for Business has no forwarding when offline.",
        "caller_rules": "Skype for Business has no per-caller rules.",
        # The Skype for Business client can apply forwarding "all the time" or "during
        # work hours set in Outlook"; neither reaches UCWA's forwarding resources.
        "schedules": "Skype for Business applies forwarding all the time or during the "
        "work hours of the person's Outlook calendar; that choice is not part of its "
        "forwarding API (UCWA), and it has no named schedules or holidays a rule could "
        "refer to.",
        "dnd": "In Skype for Business do not disturb is the person's presence, set in "
        "the client; the portal's connection sets call forwarding only.",
    },
    no_answer_unit="seconds",
    no_answer_min=5,
    no_answer_max=60,
    no_answer_default=20,
    simring_max_targets=1,
    # Seed 000: "The maximum length is 80 characters" of the target, a tel: or sip: URI.
    destination_max_length=80,
    destination_limit_documented=True,
    number_uri_prefix="tel:",
    # Seed 000: a target is "a tel URI" or "a sip URI"; UCWA's own links are TLS already.
    sips_reason="Skype for Business takes sip: addresses, not sips:. Write the address "
    "with sip: (its connections are encrypted anyway).",
)

GRAPH = Capabilities(
    kind="graph",
    label="Microsoft Teams (Graph)",
    delivery="call_time",
    unsupported={
        "busy": "Teams asks the portal before the line rings, so it cannot know it is busy.",
        "no_answer": "Teams asks the portal before the line rings, so it cannot know it "
        "was not answered.",
        "continuity": "Teams asks the portal per call; there is no offline state to act on.",
        # Routing would decide "nobody rings", but the bot can only redirect a call (to
        # the person at least), not refuse it: claiming DND would ring the phone anyway.
        "dnd": "In Teams do not disturb is the person's presence, set in Teams; the "
        "portal's call bot can redirect a call but not refuse it, so it cannot keep the "
        "phone from ringing.",
    },
    simring_max_targets=25,
    simring_timeout_min=15,
    simring_timeout_max=90,
    simring_timeout_default_one=55,
    simring_timeout_default_many=60,
    dispositions=("forward", "redirect"),
    masking=True,
    notes={
        "schedules": "Teams asks the portal about every call, so the portal checks the "
        "schedules itself at that moment, in the person's time zone.",
    },
    # targetDisposition, maskCaller and maskCallee are in the beta redirect only.
    options_need_version={"disposition": "beta", "masking": "beta"},
)

LYNC = Capabilities(
    kind="lync",
    label="Lync Server 2013 (MSPL)",
    delivery="manifest",
    unsupported={
        "busy": "An MSPL script sees the INVITE, not whether the line is busy.",
        "no_answer": "An MSPL script sees the INVITE, not whether it was answered.",
        "continuity": "An MSPL script cannot tell when a phone is offline.",
        "simring": "The MSPL forwarding script retargets to one destination.",
        "time_window": "The MSPL manifest is deployed by hand, so it cannot change by "
        "itself at a set time.",
        "schedules": "An MSPL script has no clock or calendar functions: it reads the "
        "INVITE's headers only, so it cannot tell business hours, nights or holidays "
        "apart (and the manifest is deployed by hand, so it cannot switch by itself).",
        "dnd": "An MSPL script does not see the person's presence; do not disturb is "
        "set in the Lync client itself.",
    },
    dispositions=("forward", "redirect"),
)

MATRIX = {c.kind: c for c in (WEBEX, UCWA, GRAPH, LYNC)}


def capabilities_for(kind: str, api_version: str | None = None) -> Capabilities:
    """The capabilities of provider `kind`; with `api_version`, narrowed to what that
    version of the provider's API offers."""
    try:
        caps = MATRIX[kind]
    except KeyError:
        raise KeyError(f"unknown provider kind {kind!r}") from None
    return caps.for_api_version(api_version) if api_version is not None else caps
