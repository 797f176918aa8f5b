"""providers.ucwa against the sandbox over real HTTP: a desired state pushed and read
back compares equal (forwarding.sync.readback.comparable, what drift checks use) for
sip:, tel: and bare-number targets of immediate forward, simultaneous ring and
unanswered-call forwarding, and the sandbox holds the URIs the seed asks for."""

from __future__ import annotations

import pytest

from forwarding.rules.validation import normalize_destination
from forwarding.sync.readback import comparable
from providers.base import Connection, ForwardingState
from providers.capabilities import UCWA
from providers.ucwa import UcwaProvider

TOKEN = "cwt=readback-token"
APP = "app-readback"

# What a person types -> (the stored destination, the target UCWA must hold).
TARGETS = {
    "sip": ("SIP:Ada.Lovelace@Contoso.COM", "sip:Ada.Lovelace@contoso.com"),
    "sip with parameters": ("sip:+12025550100@contoso.com;user=phone",
                            "sip:+12025550100@contoso.com;user=phone"),
    "tel": ("tel:+1-202-555-0100", "tel:+12025550100"),
    "number": ("+1 202 555 0100", "tel:+12025550100"),
    "national number": ("(202) 555-0100", "tel:+12025550100"),
    "extension": ("2001", "tel:2001"),
}


def states(destination: str) -> dict[str, ForwardingState]:
    return {
        "immediate": ForwardingState(always_enabled=True, always_destination=destination),
        "simring": ForwardingState(simring_enabled=True, simring_targets=(destination,)),
        "unanswered": ForwardingState(no_answer_enabled=True,
                                      no_answer_destination=destination,
                                      no_answer_ring_after=25),
        "simring and unanswered": ForwardingState(
            simring_enabled=True, simring_targets=(destination,), no_answer_enabled=True,
            no_answer_destination=destination, no_answer_ring_after=20),
    }


@pytest.fixture
def conn(sb):
    sb.ucwa_app(APP, TOKEN, org_id="org-readback")
    return Connection(base_url=f"{sb.url}/ucwa/v1", token=TOKEN)


def held(sb) -> dict:
    resp = sb.http.get(f"{sb.url}/ucwa/v1/applications/{APP}/me/callForwardingSettings",
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("mode", list(states("x")))
@pytest.mark.parametrize("target", list(TARGETS))
def test_pushed_state_reads_back_equal(sb, conn, target, mode):
    typed, wire = TARGETS[target]
    destination = normalize_destination(typed, region="US", caps=UCWA)
    desired = states(destination)[mode]
    provider = UcwaProvider()
    provider.push(conn, APP, desired)

    body = held(sb)
    sent = {"immediate": [body["immediateForwardTarget"]],
            "simring": [body["simultaneousRingTarget"]],
            "unanswered": [body["unansweredCallTarget"]],
            "simring and unanswered": [body["simultaneousRingTarget"],
                                       body["unansweredCallTarget"]]}[mode]
    assert sent == [wire] * len(sent)

    observed = provider.fetch(conn, APP)
    assert comparable(observed, UCWA) == comparable(desired, UCWA)


def test_a_second_push_replaces_the_first(sb, conn):
    provider = UcwaProvider()
    provider.push(conn, APP, states("sip:ada@contoso.com")["simring and unanswered"])
    desired = states("+12025550100")["immediate"]
    provider.push(conn, APP, desired)
    assert comparable(provider.fetch(conn, APP), UCWA) == comparable(desired, UCWA)
    assert provider.fetch(conn, APP).no_answer_enabled is False
