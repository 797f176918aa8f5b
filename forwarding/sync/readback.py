"""What a provider holds for a person, read back and put in a form that compares with
the desired state: what drift checks (forwarding.sync.drift) and the UCWA read-back
tests compare. Reads go through the push's own connection and token renewal
(forwarding.sync.delivery)."""

from __future__ import annotations

from forwarding.models import ForwardingSettings
from forwarding.sync.delivery import connection_for, holds_person_settings, send_renewing
from portal.connections import tokens
from providers.base import ProviderError
from providers.registry import get_provider


def provider_state(row: ForwardingSettings):
    """What the provider holds for `row`'s person now. A missing connection is a
    (transient) ProviderError here: a read-back simply does not happen."""
    provider = get_provider(row.person.org.provider_kind)
    person_ref = row.person.provider_person_id
    try:
        return send_renewing(row, connection_for(row),
                             lambda c: provider.fetch(c, person_ref))
    except tokens.ConnectionUnavailable as exc:
        raise ProviderError(exc.message, permanent=False) from exc


def comparable(state, caps) -> dict:
    """The parts of a state the provider keeps (`caps`: the org's capabilities), with
    disabled features blanked, so a comparison does not flag differences the provider
    cannot hold."""
    if holds_person_settings(caps):
        # Providers (and test doubles) without the hook compare flat settings.
        hook = getattr(get_provider(caps.kind), "comparable", None)
        parts = hook(state) if hook is not None else None
        if parts is not None:
            held, rest = parts
            return {**flat_comparable(held, caps), **rest}
    return flat_comparable(state, caps)


def flat_comparable(state, caps) -> dict:
    """`comparable` for providers that hold flat settings only."""
    data = state.to_dict()
    out = {}
    groups = {
        "always": ["always_enabled", "always_destination", "always_ring_reminder",
                   "always_voicemail"],
        "busy": ["busy_enabled", "busy_destination", "busy_voicemail"],
        "no_answer": ["no_answer_enabled", "no_answer_destination", "no_answer_ring_after",
                      "no_answer_voicemail"],
        "continuity": ["continuity_enabled", "continuity_destination", "continuity_voicemail"],
        "simring": ["simring_enabled", "simring_targets"],
    }
    for feature, names in groups.items():
        if not caps.supports(feature) or not data[names[0]]:
            out[names[0]] = False
            continue
        for name in names:
            if name.endswith("ring_reminder") and not caps.ring_reminder:
                continue
            if name.endswith("voicemail") and not caps.voicemail:
                continue
            out[name] = data[name]
    return out
