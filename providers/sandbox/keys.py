"""The sandbox's RSA signing keys: one current key, optionally the previous one.

Every JWT the sandbox issues (ID tokens, Graph notification tokens, ``/_sandbox/jwt``)
is signed RS256 with the current key and names it in the ``kid`` header; every JWKS
route publishes the same key set.  Keys survive ``POST /_sandbox/reset`` on purpose:
a portal that cached the JWKS keeps verifying across tests, and only a rotation
(``POST /_sandbox/keys/rotate``) makes it fetch again.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    created_at: float

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        numbers = key.public_key().public_numbers()
        # A thumbprint-style kid: stable for the key, different for every new one.
        digest = hashlib.sha256(f"{numbers.n}:{numbers.e}".encode()).digest()
        kid = base64.urlsafe_b64encode(digest[:15]).decode("ascii")
        return cls(kid, key, time.time())

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }


class KeyRing:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = SigningKey.generate()
        self.previous: SigningKey | None = None

    def rotate(self, keep_previous: bool) -> SigningKey:
        new = SigningKey.generate()  # slow part outside the lock
        with self._lock:
            self.previous = self.current if keep_previous else None
            self.current = new
        return new

    def _keys(self) -> list[SigningKey]:
        with self._lock:
            return [k for k in (self.current, self.previous) if k is not None]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self._keys()]}

    def view(self) -> dict[str, Any]:
        keys = self._keys()
        return {
            "current": keys[0].kid,
            "kids": [k.kid for k in keys],
            "keys": [{"kid": k.kid, "createdAt": k.created_at} for k in keys],
        }

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        with self._lock:
            key = self.current
        merged = {"kid": key.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers=merged)


def timed_claims(lifetime: int, **claims: Any) -> dict[str, Any]:
    """``claims`` plus iat, nbf (both now) and exp (now + lifetime)."""
    now = int(time.time())
    return {**claims, "iat": now, "nbf": now, "exp": now + lifetime}
