"""A notification token that verified is accepted again without checking its signature
anew (Graph reuses one token for many notifications), and never beyond what a full check
would accept: its time claims, its key and the expectations it was checked against."""

import time

import jwt
import pytest
import time_machine

from providers import bot_tokens
from tests.bot_keys import Key
from tests.calltime.test_notification_auth import token, verify


@pytest.fixture
def decodes(monkeypatch):
    """How many times PyJWT checked a signature."""
    calls = []
    real = jwt.decode

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(bot_tokens.jwt, "decode", counting)
    return calls


@pytest.fixture
def keys(notification_keys):
    return bot_tokens.KeySource(notification_keys.config_url)


def test_the_same_token_is_checked_once(keys, notification_keys, decodes):
    signed = token(notification_keys)
    first = verify(keys, signed)
    for _ in range(5):
        assert verify(keys, signed) == first
    assert len(decodes) == 1
    # Another token (another second, another call) is checked in full.
    assert verify(keys, token(notification_keys, iat=int(time.time()) - 1))
    assert len(decodes) == 2


def test_a_remembered_token_still_expires(keys, notification_keys, decodes):
    start = time.time()
    with time_machine.travel(start, tick=False) as traveller:
        signed = token(notification_keys, exp=int(start) + 30)
        assert verify(keys, signed, leeway=10)
        traveller.shift(39)
        assert verify(keys, signed, leeway=10)
        traveller.shift(2)  # past exp + leeway
        with pytest.raises(bot_tokens.BotTokenError, match="expired"):
            verify(keys, signed, leeway=10)
    assert len(decodes) == 2  # the refusal is PyJWT's own


@pytest.mark.parametrize("other", [{"audience": "bot-2"}, {"tenant": "tenant-2"},
                                   {"issuers": ["https://graph.microsoft.com"]}])
def test_remembered_for_the_same_expectations_only(keys, notification_keys, other):
    signed = token(notification_keys)
    assert verify(keys, signed)
    with pytest.raises(bot_tokens.BotTokenError):
        verify(keys, signed, **other)


def test_a_withdrawn_key_refuses_a_remembered_token(keys, notification_keys):
    start = time.time()
    with time_machine.travel(start, tick=False) as traveller:
        signed = token(notification_keys, exp=int(start) + 2 * 24 * 3600)
        assert verify(keys, signed)
        notification_keys.rotate(keep_previous=False)
        traveller.shift(24 * 3600)  # the key set is refreshed, without the old key
        with pytest.raises(bot_tokens.BotTokenError, match="unknown key id"):
            verify(keys, signed)


def test_refused_tokens_are_not_remembered(keys, notification_keys, decodes):
    stranger = Key()
    stranger.kid = notification_keys.current.kid  # named like the current key
    forged = token(notification_keys, key=stranger)
    for _ in range(3):
        with pytest.raises(bot_tokens.BotTokenError):
            verify(keys, forged)
    assert keys.verified == {}


def test_bounded(keys, notification_keys, monkeypatch):
    monkeypatch.setattr(bot_tokens, "MAX_VERIFIED", 3)
    now = int(time.time())
    for n in range(7):
        assert verify(keys, token(notification_keys, iat=now - n))
        assert len(keys.verified) <= 3

