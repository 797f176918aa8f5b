"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "symmetric" scheme).

The secret is "whsec_" + base64 of random bytes; the key is those bytes. Each request
carries webhook-id (the event's id, the same on every retry), webhook-timestamp (seconds
since the epoch, of this attempt) and webhook-signature: "v1," + base64(HMAC-SHA256(key,
"<id>.<timestamp>.<body>")). Several signatures are separated by spaces, which is how a
rotated secret keeps working for a while (docs/events.md has the receiver's recipe).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64
TOLERANCE_SECONDS = 5 * 60  # how old (or early) a timestamp a receiver should accept


class BadSignature(ValueError):
    pass


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("the secret is not base64") from exc


def _as_bytes(body) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body) -> str:
    signed = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(signing_secrets: list[str], msg_id: str, timestamp: int, body) -> dict[str, str]:
    """The three headers of one attempt, signed with every secret given (current first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body)
                                      for s in signing_secrets),
    }


def verify(secret: str, request_headers, body, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """What a receiver does (and the tests): raises BadSignature unless one of the
    request's v1 signatures matches and its timestamp is within the tolerance."""
    lower = {k.lower(): v for k, v in dict(request_headers).items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    given = lower.get("webhook-signature")
    if not msg_id or not stamp or not given:
        raise BadSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadSignature("webhook-timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise BadSignature("webhook-timestamp is too old or too new")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in given.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return
    raise BadSignature("no signature matches")
