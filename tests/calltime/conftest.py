"""Every call-time test verifies Graph's notification tokens against keys of its own
(tests/bot_keys.py), fetched afresh by each test."""

import pytest

from providers import bot_tokens
from tests.bot_keys import key_server


@pytest.fixture(autouse=True)
def notification_keys(settings):
    keys = key_server()
    keys.reset()
    settings.GRAPH_NOTIFICATION_OPENID_CONFIG = keys.config_url
    bot_tokens.forget_keys()
    yield keys
    bot_tokens.forget_keys()
