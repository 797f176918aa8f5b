"""Control routes of the identity side (merged into ``/_sandbox/`` by control.py).

OAuth clients and their lifetimes, sign-in users, UCWA service accounts, revocation,
signing keys, ad-hoc JWTs and the token endpoint counters.  docs/sandbox.md
("Identity") lists every route and field.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from . import microsoft_login, webex_oauth
from .controlkit import (
    ControlError,
    json_body,
    optional_bool,
    optional_int,
    required_str,
    str_list,
)
from .identity import (
    ISSUERS,
    IdpClient,
    IdpUser,
    MicrosoftApp,
    UcwaAccount,
    WebexClient,
    WebexOrg,
)
from .identity_http import APS_ISSUER
from .keys import timed_claims
from .state import SandboxState
from .wire import Request, Response

Handler = Callable[[Request, list[str]], Response]
JWT_LIFETIME = 3600


class IdentityControl:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.routes: list[tuple[str, tuple[str, ...], Handler]] = [
            ("GET", ("webex", "clients"), self.list_webex_clients),
            ("POST", ("webex", "clients"), self.add_webex_client),
            ("PATCH", ("webex", "clients", "*"), self.patch_webex_client),
            ("GET", ("webex", "orgs"), self.list_webex_orgs),
            ("POST", ("webex", "orgs"), self.add_webex_org),
            ("POST", ("webex", "revoke"), self.revoke_webex),
            ("GET", ("microsoft", "apps"), self.list_microsoft_apps),
            ("POST", ("microsoft", "apps"), self.add_microsoft_app),
            ("PATCH", ("microsoft", "apps", "*"), self.patch_microsoft_app),
            ("POST", ("microsoft", "revoke"), self.revoke_microsoft),
            ("GET", ("idp", "users"), self.list_idp_users),
            ("POST", ("idp", "users"), self.add_idp_user),
            ("GET", ("idp", "clients"), self.list_idp_clients),
            ("POST", ("idp", "clients"), self.add_idp_client),
            ("GET", ("ucwa", "accounts"), self.list_ucwa_accounts),
            ("POST", ("ucwa", "accounts"), self.add_ucwa_account),
            ("POST", ("jwt",), self.sign_jwt),
            ("GET", ("keys",), self.list_keys),
            ("POST", ("keys", "rotate"), self.rotate_keys),
            ("GET", ("identity", "stats"), self.stats),
        ]

    # --- Webex --------------------------------------------------------------------

    def list_webex_clients(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [c.view() for c in self.state.identity.webex_clients.values()])

    @staticmethod
    def _webex_settings(client: WebexClient, body: dict[str, Any]) -> None:
        uris = str_list(body, "redirectUris")
        access = optional_int(body, "accessTokenLifetime", 1)
        refresh = optional_int(body, "refreshTokenLifetime", 1)
        rotate = optional_bool(body, "rotateRefreshTokens")
        secret = body.get("clientSecret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ControlError(400, "clientSecret must be a non-empty string")
        if uris is not None:
            client.redirect_uris = uris
        if access is not None:
            client.access_lifetime = access
        if refresh is not None:
            client.refresh_lifetime = refresh
        if rotate is not None:
            client.rotate = rotate
        if secret is not None:
            client.client_secret = secret

    def add_webex_client(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        client = WebexClient(required_str(body, "clientId"), required_str(body, "clientSecret"),
                             [])
        self._webex_settings(client, body)
        with self.state.lock:
            self.state.identity.webex_clients[client.client_id] = client
            return Response(201, client.view())

    def patch_webex_client(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        with self.state.lock:
            client = self.state.identity.webex_clients.get(args[0])
            if client is None:
                raise ControlError(404, f"no Webex client {args[0]}")
            self._webex_settings(client, body)
            return Response(200, client.view())

    def list_webex_orgs(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [o.view() for o in self.state.identity.webex_orgs.values()])

    def add_webex_org(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        org_id = required_str(body, "orgId")
        name = body.get("name", org_id)
        if not isinstance(name, str) or not name:
            raise ControlError(400, "name must be a non-empty string")
        org = WebexOrg(org_id, name, str_list(body, "partnerFor") or [])
        with self.state.lock:
            self.state.identity.webex_orgs[org_id] = org
        return Response(201, org.view())

    def revoke_webex(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        org_id, refresh = body.get("orgId"), body.get("refreshToken")
        if not (isinstance(org_id, str) and org_id) and not (
            isinstance(refresh, str) and refresh
        ):
            raise ControlError(400, "give orgId or refreshToken")
        return Response(200, webex_oauth.revoke(
            self.state, org_id if isinstance(org_id, str) else None,
            refresh if isinstance(refresh, str) else None,
        ))

    # --- Microsoft -----------------------------------------------------------------

    def _microsoft_view(self, app: MicrosoftApp) -> dict[str, Any]:
        tenants = sorted(t for t, c in self.state.identity.consents if c == app.client_id)
        return app.view(tenants)

    def list_microsoft_apps(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            apps = self.state.identity.microsoft_apps.values()
            return Response(200, [self._microsoft_view(a) for a in apps])

    @staticmethod
    def _microsoft_settings(app: MicrosoftApp, body: dict[str, Any]) -> None:
        uris = str_list(body, "redirectUris")
        lifetime = optional_int(body, "accessTokenLifetime", 1)
        secret = body.get("clientSecret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ControlError(400, "clientSecret must be a non-empty string")
        if uris is not None:
            app.redirect_uris = uris
        if lifetime is not None:
            app.access_lifetime = lifetime
        if secret is not None:
            app.client_secret = secret

    def add_microsoft_app(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        app = MicrosoftApp(required_str(body, "clientId"), required_str(body, "clientSecret"),
                           [])
        self._microsoft_settings(app, body)
        with self.state.lock:
            self.state.identity.microsoft_apps[app.client_id] = app
            return Response(201, self._microsoft_view(app))

    def patch_microsoft_app(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        with self.state.lock:
            app = self.state.identity.microsoft_apps.get(args[0])
            if app is None:
                raise ControlError(404, f"no Microsoft app {args[0]}")
            self._microsoft_settings(app, body)
            return Response(200, self._microsoft_view(app))

    def revoke_microsoft(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        return Response(200, microsoft_login.revoke(
            self.state, required_str(body, "tenant"), required_str(body, "clientId")))

    # --- sign-in users and clients ----------------------------------------------------

    @staticmethod
    def _issuer(body: dict[str, Any]) -> str:
        issuer = body.get("issuer")
        if issuer not in ISSUERS:
            raise ControlError(400, f"issuer must be one of {', '.join(ISSUERS)}")
        return issuer

    def list_idp_users(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [u.view() for u in self.state.identity.idp_users.values()])

    def add_idp_user(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        issuer = self._issuer(body)
        email = required_str(body, "email")
        tenant = body.get("tenant") or ("webex" if issuer == "webex" else None)
        if not isinstance(tenant, str) or not tenant:
            raise ControlError(400, "tenant is required and must be a non-empty string")
        name = body.get("name", email)
        sub = body.get("sub", str(uuid.uuid4()))
        if not isinstance(name, str) or not isinstance(sub, str) or not sub:
            raise ControlError(400, "name and sub must be strings")
        verified = optional_bool(body, "emailVerified")
        user = IdpUser(issuer, tenant, email, name, True if verified is None else verified, sub)
        with self.state.lock:
            self.state.identity.idp_users[sub] = user
        return Response(201, user.view())

    def list_idp_clients(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            return Response(200, [c.view() for c in self.state.identity.idp_clients.values()])

    def add_idp_client(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        client = IdpClient(self._issuer(body), required_str(body, "clientId"),
                           required_str(body, "clientSecret"),
                           str_list(body, "redirectUris") or [])
        with self.state.lock:
            self.state.identity.idp_clients[(client.issuer, client.client_id)] = client
        return Response(201, client.view())

    # --- UCWA ---------------------------------------------------------------------------

    def list_ucwa_accounts(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            accounts = self.state.identity.ucwa_accounts.values()
            return Response(200, [a.view() for a in accounts])

    def add_ucwa_account(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        account = UcwaAccount(required_str(body, "username"), required_str(body, "password"),
                              required_str(body, "orgId"))
        lifetime = optional_int(body, "tokenLifetime", 1)
        if lifetime is not None:
            account.token_lifetime = lifetime
        with self.state.lock:
            # User names are case-insensitive (they are SIP/UPN addresses).
            self.state.identity.ucwa_accounts[account.username.lower()] = account
        return Response(201, account.view())

    # --- keys, JWTs, stats ----------------------------------------------------------------

    def sign_jwt(self, req: Request, args: list[str]) -> Response:
        body = json_body(req)
        claims, headers = body.get("claims"), body.get("headers") or {}
        if not isinstance(claims, dict) or not isinstance(headers, dict):
            raise ControlError(400, "claims (and headers, if given) must be objects")
        filled = {**timed_claims(JWT_LIFETIME, iss=APS_ISSUER), **claims}
        return Response(200, {"token": self.state.keys.sign(filled, headers)})

    def list_keys(self, req: Request, args: list[str]) -> Response:
        return Response(200, self.state.keys.view())

    def rotate_keys(self, req: Request, args: list[str]) -> Response:
        keep = optional_bool(json_body(req), "keepPrevious")
        self.state.keys.rotate(keep_previous=True if keep is None else keep)
        return Response(200, self.state.keys.view())

    def stats(self, req: Request, args: list[str]) -> Response:
        with self.state.lock:
            view = self.state.identity.stats_view()
        view["at"] = time.time()
        return Response(200, view)
