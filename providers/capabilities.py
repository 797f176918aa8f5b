"""What each provider kind can do, in one place: features, limits and units.

Pages show only supported features (and say why the rest is missing), and the forwarding
services refuse unsupported settings with the same reasons, whatever the client sends.
Limits come from the provider documents in the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FEATURES = (
    "always",
    "busy",
    "no_answer",
    "continuity",
    "simring",
    "caller_rules",
    "time_window",
)

FEATURE_LABELS = {
    "always": "Always forward",
    "busy": "Forward when busy",
    "no_answer": "Forward when not answered",
    "continuity": "Forward when offline (business continuity)",
    "simring": "Simultaneous ring",
    "caller_rules": "Rules per caller",
    "time_window": "Time window",
}

DESTINATION_MAX_LENGTH = 80  # UCWA's limit, the smallest of the providers


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

    def supports(self, feature: str) -> bool:
        if feature not in FEATURES:
            raise KeyError(f"unknown forwarding feature {feature!r}")
        return feature not in self.unsupported

    def reason(self, feature: str) -> str | None:
        return self.unsupported.get(feature)

    def features(self):
        """(feature, label, supported, reason) for every feature, for pages."""
        return [
            (f, FEATURE_LABELS[f], f not in self.unsupported, self.unsupported.get(f))
            for f in FEATURES
        ]


WEBEX = Capabilities(
    kind="webex",
    label="Webex Calling",
    delivery="push",
    unsupported={
        "simring": "Webex Calling's call forwarding API has no simultaneous ring.",
        "caller_rules": "Webex Calling's call forwarding API has no per-caller rules.",
    },
    ring_reminder=True,
    voicemail=True,
    no_answer_unit="rings",
    no_answer_min=2,
    no_answer_max=20,  # systemMaxNumberOfRings; a person's own maximum may be lower
    no_answer_default=3,
)

UCWA = Capabilities(
    kind="ucwa",
    label="Skype for Business (UCWA)",
    delivery="push",
    unsupported={
        "busy": "Skype for Business has no separate forwarding when busy.",
        "continuity": "Skype for Business has no forwarding when offline.",
        "caller_rules": "Skype for Business has no per-caller rules.",
    },
    no_answer_unit="seconds",
    no_answer_min=5,
    no_answer_max=60,
    no_answer_default=20,
    simring_max_targets=1,
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
    },
    simring_max_targets=25,
    simring_timeout_min=15,
    simring_timeout_max=90,
    simring_timeout_default_one=55,
    simring_timeout_default_many=60,
    dispositions=("forward", "redirect"),
    masking=True,
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
    },
    dispositions=("forward", "redirect"),
)

MATRIX = {c.kind: c for c in (WEBEX, UCWA, GRAPH, LYNC)}


def capabilities_for(kind: str) -> Capabilities:
    try:
        return MATRIX[kind]
    except KeyError:
        raise KeyError(f"unknown provider kind {kind!r}") from None
