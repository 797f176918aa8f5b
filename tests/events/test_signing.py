"""Standard Webhooks signatures: the specification's published test vector, several
signatures during a rotation, and what a receiver refuses."""

import base64
import re

import pytest

from portal.events import signing

# From the Standard Webhooks reference libraries' tests (libraries/*/tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_test_vector():
    assert signing.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == \
        VECTOR_SIGNATURE
    # The prefix is optional on the key side, as in the reference libraries.
    assert signing.sign(VECTOR_SECRET.removeprefix("whsec_"), VECTOR_ID, VECTOR_TIMESTAMP,
                        VECTOR_BODY.encode()) == VECTOR_SIGNATURE


def test_verify_accepts_the_vector_within_the_tolerance_and_refuses_outside():
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TIMESTAMP),
               "webhook-signature": VECTOR_SIGNATURE}
    signing.verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 299)
    with pytest.raises(signing.BadSignature, match="too old"):
        signing.verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 301)
    with pytest.raises(signing.BadSignature, match="no signature"):
        signing.verify(VECTOR_SECRET, headers, VECTOR_BODY.replace("2", "3"),
                       now=VECTOR_TIMESTAMP)
    with pytest.raises(signing.BadSignature, match="missing"):
        signing.verify(VECTOR_SECRET, {"webhook-id": VECTOR_ID}, VECTOR_BODY)


def test_new_secrets_have_the_specified_shape_and_differ():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", first)
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32  # spec: 24 to 64 bytes


def test_every_secret_signs_during_a_rotation_and_either_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "msg_1", 1_700_000_000, b'{"a":1}')
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        signing.verify(secret, headers, b'{"a":1}', now=1_700_000_000)
    with pytest.raises(signing.BadSignature):
        signing.verify(signing.new_secret(), headers, b'{"a":1}', now=1_700_000_000)
