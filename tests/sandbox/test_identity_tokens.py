"""Sign-in (OpenID Connect), signing keys, ad-hoc JWTs and signed Graph notifications."""

from __future__ import annotations

import jwt
import pytest
import requests

from .identity_helpers import parse_form, pkce_pair, submit, verify

REDIRECT = "https://portal.test/accounts/oidc/callback/"


def _signin(sb, issuer, authorize_path, token_path, *, tenant="t1", pkce=True, **user):
    sb.control("POST", "idp/clients", 201, json={
        "issuer": issuer, "clientId": "web", "clientSecret": "ws", "redirectUris": [REDIRECT]})
    created = sb.control("POST", "idp/users", 201, json={
        "issuer": issuer, "tenant": tenant, "email": "ann@contoso.com", "name": "Ann", **user,
    }).json()
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": "web", "redirect_uri": REDIRECT,
              "scope": "openid email profile", "state": "s1", "nonce": "n1"}
    if pkce:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = requests.get(sb.url + authorize_path, params=params, timeout=5)
    assert page.status_code == 200, page.text
    form = parse_form(page.text)
    assert form.selects["user"] == [created["sub"]] and form.labels["user"] == "Account"
    back = submit(sb.url, page, user=created["sub"])
    assert back["state"] == "s1"
    data = {"grant_type": "authorization_code", "client_id": "web", "client_secret": "ws",
            "code": back["code"], "redirect_uri": REDIRECT}
    if pkce:
        data["code_verifier"] = verifier
    resp = requests.post(sb.url + token_path, data=data, timeout=5)
    assert resp.status_code == 200, resp.text
    return created, resp.json()


def test_microsoft_discovery_and_sign_in(sb):
    conf = requests.get(f"{sb.url}/login/t1/v2.0/.well-known/openid-configuration",
                        timeout=5).json()
    assert conf["issuer"] == f"{sb.url}/login/t1/v2.0"
    assert conf["jwks_uri"] == f"{sb.url}/login/t1/discovery/v2.0/keys"
    common = requests.get(f"{sb.url}/login/common/v2.0/.well-known/openid-configuration",
                          timeout=5).json()
    assert common["issuer"] == f"{sb.url}/login/{{tenantid}}/v2.0"
    user, tokens = _signin(sb, "microsoft", "/login/t1/oauth2/v2.0/authorize",
                           "/login/t1/oauth2/v2.0/token")
    claims = verify(sb.url, tokens["id_token"], "/login/t1/discovery/v2.0/keys",
                    audience="web", issuer=conf["issuer"])
    assert claims["sub"] == user["sub"] and claims["oid"] == user["oid"]
    assert claims["tid"] == "t1" and claims["nonce"] == "n1"
    assert claims["email"] == "ann@contoso.com" and claims["xms_edov"] is True
    assert claims["preferred_username"] == "ann@contoso.com" and claims["name"] == "Ann"
    assert {"iat", "nbf", "exp"} <= set(claims)
    info = requests.get(f"{sb.url}/login/oidc/userinfo", timeout=5,
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.json()["email"] == "ann@contoso.com"
    assert requests.get(f"{sb.url}/login/oidc/userinfo", timeout=5).status_code == 401


def test_microsoft_unverified_user_has_no_email_claim(sb):
    _, tokens = _signin(sb, "microsoft", "/login/t1/oauth2/v2.0/authorize",
                        "/login/t1/oauth2/v2.0/token", emailVerified=False, pkce=False)
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert "email" not in claims and claims["xms_edov"] is False


def test_webex_discovery_and_sign_in(sb):
    conf = requests.get(f"{sb.url}/webex/v1/.well-known/openid-configuration",
                        timeout=5).json()
    assert conf["issuer"] == f"{sb.url}/webex/idb"
    assert conf["token_endpoint"] == f"{sb.url}/webex/v1/access_token"
    assert conf["jwks_uri"] == f"{sb.url}/webex/v1/verification"
    _, tokens = _signin(sb, "webex", "/webex/v1/authorize", "/webex/v1/access_token",
                        emailVerified=False)
    claims = verify(sb.url, tokens["id_token"], "/webex/v1/verification", audience="web",
                    issuer=conf["issuer"])
    assert claims["email"] == "ann@contoso.com" and claims["email_verified"] is False
    info = requests.get(conf["userinfo_endpoint"], timeout=5,
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["email_verified"] is False


def test_sign_in_code_checks_pkce(sb):
    sb.control("POST", "idp/clients", 201, json={
        "issuer": "microsoft", "clientId": "web", "clientSecret": "ws",
        "redirectUris": [REDIRECT]})
    user = sb.control("POST", "idp/users", 201, json={
        "issuer": "microsoft", "tenant": "t1", "email": "a@b.c"}).json()
    _, challenge = pkce_pair()
    page = requests.get(f"{sb.url}/login/t1/oauth2/v2.0/authorize", timeout=5, params={
        "response_type": "code", "client_id": "web", "redirect_uri": REDIRECT,
        "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"})
    code = submit(sb.url, page, user=user["sub"])["code"]
    resp = requests.post(f"{sb.url}/login/t1/oauth2/v2.0/token", timeout=5, data={
        "grant_type": "authorization_code", "client_id": "web", "client_secret": "ws",
        "code": code, "redirect_uri": REDIRECT, "code_verifier": "not-it" * 8})
    assert resp.status_code == 400 and resp.json()["error_codes"] == [50148]


def test_sandbox_jwt_and_key_rotation(sb):
    token = sb.control("POST", "jwt", 200, json={"claims": {"aud": "bot", "tid": "t1"}}).json()
    claims = verify(sb.url, token["token"], "/aps/v1/keys", audience="bot")
    assert claims["iss"] == "https://api.botframework.com" and {"iat", "nbf", "exp"} <= set(
        claims)
    old_kid = jwt.get_unverified_header(token["token"])["kid"]
    expired = sb.control("POST", "jwt", 200, json={"claims": {"aud": "bot", "exp": 1}}).json()
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(sb.url, expired["token"], "/aps/v1/keys", audience="bot")
    keys = sb.control("POST", "keys/rotate", 200, json={"keepPrevious": True}).json()
    assert keys["kids"][1] == old_kid and keys["current"] != old_kid
    assert verify(sb.url, token["token"], "/aps/v1/keys", audience="bot")["tid"] == "t1"
    new = sb.control("POST", "jwt", 200, json={"claims": {"aud": "bot"}}).json()["token"]
    assert jwt.get_unverified_header(new)["kid"] == keys["current"]
    sb.control("POST", "keys/rotate", 200, json={"keepPrevious": False})
    jwks = requests.get(f"{sb.url}/aps/v1/.well-known/keys", timeout=5).json()
    assert len(jwks["keys"]) == 1
    with pytest.raises(jwt.PyJWKClientError):
        verify(sb.url, token["token"], "/aps/v1/keys", audience="bot")


def test_aps_openid_configuration(sb):
    conf = requests.get(f"{sb.url}/aps/v1/.well-known/OpenIdConfiguration", timeout=5).json()
    assert conf["issuer"] == "https://api.botframework.com"
    assert conf["jwks_uri"] == f"{sb.url}/aps/v1/keys"
    assert conf["id_token_signing_alg_values_supported"] == ["RS256"]


def test_every_notification_carries_a_signed_token(sb, receiver):
    line = sb.line("line-1", "tenant-9", receiver.url, appId="bot-app-7")
    assert line["appId"] == "bot-app-7"
    assert sb.line("line-2", "tenant-9", receiver.url)["appId"] == "sandbox-bot"
    sb.call("line-1", "+15550100", deadline_ms=200)
    received = receiver.wait_for(2)
    conf = requests.get(f"{sb.url}/aps/v1/.well-known/OpenIdConfiguration", timeout=5).json()
    for item in received:
        scheme, _, token = item["headers"]["authorization"].partition(" ")
        assert scheme == "Bearer"
        claims = verify(sb.url, token, "/aps/v1/keys", audience="bot-app-7",
                        issuer=conf["issuer"])
        assert claims["tid"] == "tenant-9"
        assert claims["exp"] - claims["iat"] == 3600
