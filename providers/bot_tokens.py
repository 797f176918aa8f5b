"""Verify the bearer token Microsoft Graph signs every calling-bot notification with.

Graph's calling platform POSTs each notification with `Authorization: Bearer <JWT>`,
signed RS256 with keys published under an OpenID configuration document
(`https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration` for Microsoft's cloud;
Teams' "Incoming call notifications" page and the AuthenticationProvider of
microsoft-graph-comms-samples). Its claims: `iss` (https://api.botframework.com, or
https://graph.microsoft.com), `aud` (the bot's application id), `tid` (the tenant the
call belongs to), `iat`/`nbf`/`exp`.

`verify(token, audience=..., tenant=..., keys=..., issuers=..., leeway=...)` returns the
claims or raises `BotTokenError` with a short reason for the log. The JOSE work is
PyJWT's; this module only fixes what it is asked to check:

- the algorithm is RS256 and nothing else (no `none`, no HMAC: a token "signed" HS256
  with the public key's PEM as the secret fails);
- the key is the one the header's `kid` names in the configured document's JWKS;
- `iss` is one of `issuers`, `aud` is the bot, `tid` is the org's tenant, `exp` and
  `nbf` hold within `leeway` seconds, and every one of them is present.

Graph signs many notifications with the same token (it is an access token, valid for an
hour, that the calling platform reuses): a token that passed every check is remembered
by its KeySource, and the same token with the same expectations is then accepted again
without parsing or checking its signature anew (the bytes are the same, so the answer
would be), while its time claims are checked against the clock every time and its key
must still be the one the key set publishes under its kid (a withdrawn key, or a key
set refreshed without it, refuses it as before). Only tokens that verified are kept, at
most MAX_VERIFIED per key set: made-up tokens cannot fill it.

Keys (`KeySource`) are kept per process and per document URL. A `kid` that is not in
the cache fetches the JWKS again, at most once per `refetch_seconds` (a flood of tokens
with made-up kids costs the provider one request a minute per process); the whole set
is refreshed after `max_age_seconds` in the same way, so a withdrawn key stops being
accepted within a day. While no key set was ever fetched (the provider was down when
the process started), a fetch is retried every `retry_seconds` instead. A failed fetch
is logged and refuses the token; it never raises anything but `BotTokenError`.

No Django here: the webhook (forwarding.calltime) passes the settings in.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import jwt
import requests

from .http import get_session

log = logging.getLogger("providers.bot_tokens")

# Microsoft's document for calling-bot notification tokens, and the issuers it uses.
MICROSOFT_OPENID_CONFIG = "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"
MICROSOFT_ISSUERS = ("https://api.botframework.com", "https://graph.microsoft.com")

ALGORITHMS = ["RS256"]
REQUIRED_CLAIMS = ["iss", "aud", "tid", "exp", "nbf"]
# The fetch happens on the webhook's request (Graph drops a call 15 s after notifying):
# two requests (document, then JWKS) of at most connect + read each.
FETCH_TIMEOUT = (1.5, 2.5)
MAX_TOKEN_LENGTH = 16 * 1024
# Tokens that verified, remembered per key set (a burst of calls shares a few).
MAX_VERIFIED = 1024
# What a fetch may fail with (requests' JSON error is a ValueError too).
_FETCH_ERRORS = (requests.RequestException, ValueError, jwt.PyJWTError)


class BotTokenError(Exception):
    """The token is refused; `reason` is for the log, never for the sender."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Fetched:
    keys: dict  # kid -> PyJWK
    at: float


class KeySource:
    """The signing keys of one OpenID configuration document, cached in this process.

    Thread-safe: known kids are looked up without a lock; only a fetch takes it, so a
    slow provider holds up the requests with an unknown kid, not the others. Time is
    wall-clock (`time.time`), and a clock that went backwards allows a fetch."""

    def __init__(self, config_url: str, *, refetch_seconds: float = 60.0,
                 retry_seconds: float = 10.0, max_age_seconds: float = 24 * 3600.0,
                 timeout=FETCH_TIMEOUT, clock=time.time):
        self.config_url = config_url
        self.refetch_seconds = refetch_seconds
        self.retry_seconds = retry_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout = timeout
        self.clock = clock
        self.fetches = 0  # attempts, for tests and the bench
        self._fetched: _Fetched | None = None
        self._jwks_uri: str | None = None
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        # (token, audience, tenant, issuers, leeway) -> (claims, kid, key) of a token that
        # verified against this set (see the module's docstring).
        self.verified: dict[tuple, tuple[dict, str, object]] = {}

    def remember(self, check: tuple, claims: dict, kid: str, key) -> None:
        if len(self.verified) >= MAX_VERIFIED:
            self.verified.clear()  # rare: a thousand live tokens; they verify again
        self.verified[check] = (claims, kid, key)

    def key_for(self, kid: str):
        """The public key named `kid` (a cryptography key), fetching the set when it is
        unknown or old and the fetch interval allows; BotTokenError otherwise."""
        fetched = self._fetched
        if fetched is not None and kid in fetched.keys and not self._stale(fetched):
            return fetched.keys[kid].key
        with self._lock:
            fetched = self._fetched  # another thread may have fetched meanwhile
            if fetched is None or kid not in fetched.keys or self._stale(fetched):
                if self._may_fetch():
                    self._fetch()
                    fetched = self._fetched
        if fetched is None:
            raise BotTokenError("the signing keys could not be fetched")
        if kid not in fetched.keys:
            raise BotTokenError(f"unknown key id {kid[:40]!r}")
        return fetched.keys[kid].key

    def _stale(self, fetched: _Fetched) -> bool:
        return self.clock() - fetched.at >= self.max_age_seconds

    def _may_fetch(self) -> bool:
        if self._last_attempt is None:
            return True
        elapsed = self.clock() - self._last_attempt
        wait = self.refetch_seconds if self._fetched is not None else self.retry_seconds
        return elapsed < 0 or elapsed >= wait

    def _fetch(self) -> None:
        """Fetch the JWKS (and the document first when its jwks_uri is not known yet or
        the JWKS failed); keep the old keys when anything goes wrong."""
        self._last_attempt = self.clock()
        self.fetches += 1
        try:
            keys = None
            if self._jwks_uri is not None:
                try:
                    keys = self._jwks(self._jwks_uri)
                except _FETCH_ERRORS:
                    self._jwks_uri = None  # the document may name another one now
            if keys is None:
                self._jwks_uri = self._document_jwks_uri()
                keys = self._jwks(self._jwks_uri)
        except _FETCH_ERRORS as exc:
            log.warning("bot tokens: could not fetch the signing keys of %s: %s",
                        self.config_url, str(exc)[:200] or exc.__class__.__name__)
            return
        self._fetched = _Fetched(keys, self.clock())

    def _get_json(self, url):
        response = get_session().get(url, timeout=self.timeout,
                                     headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return data

    def _document_jwks_uri(self) -> str:
        uri = self._get_json(self.config_url).get("jwks_uri")
        if not isinstance(uri, str) or not uri.lower().startswith(("https://", "http://")):
            raise ValueError(f"{self.config_url} names no jwks_uri")
        return uri

    def _jwks(self, uri) -> dict:
        data = self._get_json(uri)
        keys = {}
        for item in data.get("keys") or []:
            if not isinstance(item, dict) or item.get("kty") != "RSA":
                continue
            if item.get("use", "sig") != "sig" or not isinstance(item.get("kid"), str):
                continue
            try:
                keys[item["kid"]] = jwt.PyJWK(item, algorithm="RS256")
            except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
                log.warning("bot tokens: key %r of %s skipped: %s", item["kid"][:40], uri, exc)
        if not keys:
            raise ValueError(f"{uri} holds no RSA signing key")
        return keys


_sources: dict[str, KeySource] = {}
_sources_lock = threading.Lock()


def key_source(config_url: str) -> KeySource:
    """This process's KeySource for `config_url` (one per URL)."""
    source = _sources.get(config_url)
    if source is None:
        with _sources_lock:
            source = _sources.setdefault(config_url, KeySource(config_url))
    return source


def forget_keys() -> None:
    """Drop every cached key set (tests)."""
    with _sources_lock:
        _sources.clear()


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; BotTokenError otherwise."""
    if not authorization:
        raise BotTokenError("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise BotTokenError("the Authorization header is not 'Bearer <token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise BotTokenError("the token is too long")
    return token


def verify(token: str, *, audience: str, tenant: str, keys: KeySource, issuers,
           leeway: float = 60.0) -> dict:
    """The token's claims, once every check holds; BotTokenError otherwise."""
    if not audience or not tenant:
        # An org without a bot id or tenant would accept anything PyJWT does not check.
        raise BotTokenError("no audience or tenant to check the token against")
    check = (token, audience, tenant, tuple(issuers), leeway)
    known = keys.verified.get(check)
    if known is not None:
        claims, kid, key = known
        # key_for refreshes a stale set (and refuses a kid it no longer publishes).
        if keys.key_for(kid) is key and _in_time(claims, leeway):
            return dict(claims)
        keys.verified.pop(check, None)  # then checked in full below, and refused
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise BotTokenError(f"malformed token ({exc})") from None
    # PyJWT refuses any other algorithm too (algorithms=ALGORITHMS below); checked here
    # first so that no key is looked up, let alone fetched, for such a token.
    if header.get("alg") not in ALGORITHMS:
        raise BotTokenError(f"algorithm {str(header.get('alg'))[:20]!r} is not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise BotTokenError("the token names no key id")
    key = keys.key_for(kid)
    try:
        claims = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=audience, issuer=list(issuers),
            leeway=leeway, options={"require": REQUIRED_CLAIMS})
    except jwt.PyJWTError as exc:
        raise BotTokenError(f"{exc.__class__.__name__}: {exc}"[:200]) from None
    if claims.get("tid") != tenant:
        raise BotTokenError(f"tenant {str(claims.get('tid'))[:60]!r} is not the org's")
    keys.remember(check, dict(claims), kid, key)
    return claims


def _in_time(claims: dict, leeway: float) -> bool:
    """PyJWT's time checks of a token it accepted before: not expired (exp), valid
    already (nbf), not issued in the future (iat), each within `leeway` seconds."""
    now = time.time()
    return (int(claims["exp"]) > now - leeway and int(claims["nbf"]) <= now + leeway
            and ("iat" not in claims or int(claims["iat"]) <= now + leeway))
