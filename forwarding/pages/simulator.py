"""The "test my forwarding" panel in the words of the person page: a routing decision's
rule code becomes the card title people see there ("Forward when not answered"), never
the code itself."""

from __future__ import annotations

from forwarding.rules import selectors
from providers.capabilities import FEATURE_LABELS


def decided_by(decision) -> str:
    """Which part of the person page decided the call, in the page's own labels."""
    rule = decision.rule
    if rule.startswith("caller_rule:"):
        return f"{FEATURE_LABELS['caller_rules']}: rule {rule.split(':', 1)[1]}"
    if rule in FEATURE_LABELS:
        return FEATURE_LABELS[rule]
    return "Nothing: no forwarding applies"


def how(decision, line_state: str) -> str:
    """How the call reaches its targets, or why it reaches none."""
    if not decision.targets:
        if line_state == "offline":
            return "It does not ring anywhere: the phone is offline"
        return "It does not ring anywhere"
    if decision.disposition == "redirect":
        words = "Redirected: the caller is told"
    elif decision.disposition == "forward":
        words = "Forwarded: the caller is not told"
    else:
        words = "Rings"
    if decision.timeout:
        words += f", for {decision.timeout} seconds"
    return words


def outcome(decision, line_state: str) -> dict:
    """What the simulator page shows for one decision."""
    return {
        "explanation": decision.explanation,
        "targets": [selectors.display(t) for t in decision.targets],
        "how": how(decision, line_state),
        "decided_by": decided_by(decision),
        "mask_caller": decision.mask_caller,
        "mask_callee": decision.mask_callee,
    }
