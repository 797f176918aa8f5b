"""The identity endpoints as one provider of the request pipeline.

They go through the same pipeline as the provider APIs (request log, faults by
``path``, crash safety) but are never rate limited (they address no org).  Routes
are matched here, before the Webex and UCWA providers whose prefixes they share;
each family answers its errors (faults included) in its own provider's shape.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from . import microsoft_login, webex_oauth
from .provider import Provider, split_path
from .state import Token
from .wire import Request, Response

# The OpenID configuration Microsoft publishes for calling bots
# (https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration), with the sandbox's
# keys; the issuer is Microsoft's own, which is also the ``iss`` of the tokens on
# notifications (verifiers accept it next to https://graph.microsoft.com).
APS_ISSUER = "https://api.botframework.com"

Handler = Callable[[Request, list[str]], Response]


class IdentityProvider(Provider):
    name = "identity"
    prefix = "/"

    def __init__(self, state) -> None:  # noqa: ANN001
        super().__init__(state)
        st = state
        self.routes: list[tuple[tuple[str, ...], tuple[str, ...], Handler]] = [
            (("GET", "POST"), ("webex", "v1", "authorize"),
             lambda r, a: webex_oauth.authorize(st, r)),
            (("POST",), ("webex", "v1", "access_token"),
             lambda r, a: webex_oauth.access_token(st, r)),
            (("GET",), ("webex", "v1", ".well-known", "openid-configuration"),
             lambda r, a: webex_oauth.discovery(st, r)),
            (("GET",), ("webex", "idb", ".well-known", "openid-configuration"),
             lambda r, a: webex_oauth.discovery(st, r)),
            (("GET",), ("webex", "v1", "userinfo"), lambda r, a: webex_oauth.userinfo(st, r)),
            (("GET",), ("webex", "v1", "verification"), self.jwks),
            (("GET",), ("login", "oidc", "userinfo"),
             lambda r, a: microsoft_login.userinfo(st, r)),
            (("GET", "POST"), ("login", "*", "adminconsent"),
             lambda r, a: microsoft_login.admin_consent(st, r, a[0])),
            (("POST",), ("login", "*", "oauth2", "v2.0", "token"),
             lambda r, a: microsoft_login.token(st, r, a[0])),
            (("GET", "POST"), ("login", "*", "oauth2", "v2.0", "authorize"),
             lambda r, a: microsoft_login.signin_authorize(st, r, a[0])),
            (("GET",), ("login", "*", "v2.0", ".well-known", "openid-configuration"),
             lambda r, a: microsoft_login.discovery(st, r, a[0])),
            (("GET",), ("login", "*", "discovery", "v2.0", "keys"), self.jwks),
            (("GET",), ("aps", "v1", ".well-known", "OpenIdConfiguration"), self.aps_config),
            (("GET",), ("aps", "v1", "keys"), self.jwks),
            (("GET",), ("aps", "v1", ".well-known", "keys"), self.jwks),
            (("POST",), ("ucwa", "WebTicket", "oauthtoken"), self.ucwa_token),
        ]

    def _route(self, req: Request) -> tuple[tuple[str, ...], Handler, list[str]] | None:
        parts = split_path(req.path)
        for methods, pattern, handler in self.routes:
            if len(pattern) == len(parts) and all(
                p == "*" or p == s for p, s in zip(pattern, parts, strict=True)
            ):
                args = [s for p, s in zip(pattern, parts, strict=True) if p == "*"]
                return methods, handler, args
        return None

    def matches(self, req: Request) -> bool:
        return self._route(req) is not None

    def handle(self, req: Request) -> Response:
        route = self._route(req)
        if route is None:  # pragma: no cover - matches() came first
            return self.error(req, 404, "Not found.")
        methods, handler, args = route
        if req.method not in methods:
            resp = self.error(req, 405, f"Method {req.method} is not allowed here.")
            resp.headers["Allow"] = ", ".join(methods)
            return resp
        return handler(req, args)

    def error(self, req: Request, status: int, message: str, code: str | None = None) -> Response:
        family = split_path(req.path)[0]
        if family == "webex":
            return webex_oauth.oauth_error(req, status, "server_error" if status >= 500
                                           else "invalid_request", message)
        if family == "login":
            return microsoft_login.aad_error(req, status, "temporarily_unavailable"
                                             if status >= 500 else "invalid_request",
                                             90033 if status >= 500 else 900144, message)
        return Response(status, {"error": "invalid_request", "error_description": message})

    # --- keys and bot configuration ----------------------------------------------

    def jwks(self, req: Request, args: list[str]) -> Response:
        return Response(200, self.state.keys.jwks())

    def aps_config(self, req: Request, args: list[str]) -> Response:
        return Response(200, {
            "issuer": APS_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{req.base_url()}/aps/v1/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    # --- UCWA WebTicket -----------------------------------------------------------

    def ucwa_token(self, req: Request, args: list[str]) -> Response:
        form = req.form()
        username = form.get("username") or ""
        st = self.state
        with st.lock:
            account = st.identity.ucwa_accounts.get(username.lower())
            grant = form.get("grant_type") or ""
            if grant != "password":
                st.identity.count("ucwa", username, grant, ok=False)
                return Response(400, {"error": "unsupported_grant_type"})
            if account is None or not secrets.compare_digest(
                account.password, form.get("password") or ""
            ):
                st.identity.count("ucwa", username, grant, ok=False)
                return Response(400, {"error": "invalid_grant"})
            minted = Token(
                token="cwt=" + secrets.token_urlsafe(48), org_id=account.org_id,
                partner_for=[], expires_at=time.time() + account.token_lifetime,
                audience="ucwa", client_id=account.username,
            )
            st.tokens[minted.token] = minted
            account.tokens_issued += 1
            st.identity.count("ucwa", username, grant, ok=True)
        return Response(200, {
            "access_token": minted.token,
            "expires_in": account.token_lifetime,
            "ms_rtc_identityscope": "local",
            "token_type": "Bearer",
        }, {"Cache-Control": "no-store"})
