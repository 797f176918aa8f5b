"""Graph's notification tokens in tests: RSA keys of our own, their OpenID configuration
document and JWKS served over real HTTP from a thread (the way Microsoft publishes them
at api.aps.skype.com), and tokens signed with them.

    keys = key_server()                # one per test process, started on first use
    keys.config_url                    # GRAPH_NOTIFICATION_OPENID_CONFIG for the tests
    keys.token_for(org)                # valid for the org's bot and tenant
    keys.token_for(org, exp=..., aud=..., headers={"kid": ...}, key=other)
    keys.rotate(keep_previous=False)   # a new current key
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.connections.selectors import bot_app_id

ISSUER = "https://api.botframework.com"
CONFIG_PATH = "/v1/.well-known/OpenIdConfiguration"
JWKS_PATH = "/v1/keys"


class Key:
    _n = 0

    def __init__(self):
        Key._n += 1
        self.kid = f"test-key-{Key._n}"
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class KeyServer:
    def __init__(self):
        self.keys = [Key()]  # the current one first
        self.requests: Counter = Counter()  # path -> GETs
        self.failing = False  # answer 503 to everything
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="test-jwks").start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def config_url(self) -> str:
        return self.base_url + CONFIG_PATH

    @property
    def current(self) -> Key:
        return self.keys[0]

    def rotate(self, *, keep_previous=False) -> Key:
        new = Key()
        self.keys = [new, self.current] if keep_previous else [new]
        return new

    def reset(self):
        self.requests.clear()
        self.failing = False

    def sign(self, claims: dict, *, key: Key | None = None, headers=None,
             algorithm="RS256") -> str:
        key = key or self.current
        merged = {"kid": key.kid, **(headers or {})}
        return jwt.encode(claims, key.private, algorithm=algorithm, headers=merged)

    def claims_for(self, org, *, lifetime=600, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": bot_app_id(org), "tid": org.provider_org_id,
                  "iat": now, "nbf": now, "exp": now + lifetime}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token_for(self, org, *, key=None, headers=None, **overrides) -> str:
        return self.sign(self.claims_for(org, **overrides), key=key, headers=headers)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests[self.path] += 1
                if server.failing:
                    return self._answer(503, {"error": "down"})
                if self.path == CONFIG_PATH:
                    return self._answer(200, {"issuer": ISSUER,
                                              "jwks_uri": server.base_url + JWKS_PATH,
                                              "id_token_signing_alg_values_supported":
                                                  ["RS256"]})
                if self.path == JWKS_PATH:
                    return self._answer(200, {"keys": [k.jwk() for k in server.keys]})
                return self._answer(404, {"error": "not found"})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


_server: KeyServer | None = None
_lock = threading.Lock()


def key_server() -> KeyServer:
    global _server
    with _lock:
        if _server is None:
            _server = KeyServer()
    return _server


def bearer(token: str) -> dict:
    """Django test client keyword arguments that send `token`."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
