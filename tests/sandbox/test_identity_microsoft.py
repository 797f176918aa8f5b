"""Microsoft in the sandbox: admin consent, client-credentials Graph tokens, UCWA WebTicket."""

from __future__ import annotations

import time

import requests

from .identity_helpers import parse_form, submit, title_of

REDIRECT = "https://portal.test/connect/teams/callback"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _app(sb, **fields):
    body = {"clientId": "app1", "clientSecret": "s3", "redirectUris": [REDIRECT], **fields}
    return sb.control("POST", "microsoft/apps", 201, json=body).json()


def _consent_page(sb, tenant="t1", **extra):
    params = {"client_id": "app1", "redirect_uri": REDIRECT, "state": "xyz", **extra}
    return requests.get(f"{sb.url}/login/{tenant}/adminconsent", params=params,
                        allow_redirects=False, timeout=5)


def _app_token(sb, tenant="t1", **overrides):
    form = {"client_id": "app1", "client_secret": "s3", "grant_type": "client_credentials",
            "scope": GRAPH_SCOPE, **overrides}
    return requests.post(f"{sb.url}/login/{tenant}/oauth2/v2.0/token", data=form, timeout=5)


def _redirect(sb, token, call_id="nope"):
    return requests.post(f"{sb.url}/graph/v1.0/communications/calls/{call_id}/redirect",
                         headers={"Authorization": f"Bearer {token}"}, json={}, timeout=5)


def _assert_aad(resp, status, error, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert body["error_codes"] == [code]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_admin_consent_then_app_token(sb):
    _app(sb)
    page = _consent_page(sb)
    assert page.status_code == 200
    assert title_of(page.text) == "Microsoft sandbox: admin consent for app1"
    back = submit(sb.url, page)
    assert back["admin_consent"] == "True" and back["tenant"] == "t1" and back["state"] == "xyz"
    resp = _app_token(sb)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    # A Graph token of that tenant: known to Graph (404 for a call that does not exist).
    assert _redirect(sb, body["access_token"]).status_code == 404
    apps = sb.control("GET", "microsoft/apps", 200).json()
    assert apps[0]["tokensIssued"] == 1 and apps[0]["consents"] == 1
    assert apps[0]["consentedTenants"] == ["t1"]


def test_consent_denied_and_bad_requests(sb):
    _app(sb)
    back = submit(sb.url, _consent_page(sb), decision="deny")
    assert back["error"] == "access_denied" and back["state"] == "xyz"
    assert back["error_description"].startswith("AADSTS")
    assert _consent_page(sb, client_id="other").status_code == 400
    bad = _consent_page(sb, redirect_uri="https://evil.test/")
    assert bad.status_code == 400 and "Location" not in bad.headers


def test_consent_on_common_asks_for_the_tenant(sb):
    _app(sb)
    page = _consent_page(sb, tenant="common")
    assert parse_form(page.text).labels["tenant"] == "Tenant ID"
    back = submit(sb.url, page, tenant="t9")
    assert back["tenant"] == "t9"
    assert _app_token(sb, tenant="t9").status_code == 200


def test_token_errors_have_aad_shape(sb):
    _app(sb)
    _assert_aad(_app_token(sb), 400, "unauthorized_client", 700016)  # no consent yet
    submit(sb.url, _consent_page(sb))
    _assert_aad(_app_token(sb, client_secret="bad"), 401, "invalid_client", 7000215)
    _assert_aad(_app_token(sb, scope="User.Read"), 400, "invalid_scope", 1002012)
    _assert_aad(_app_token(sb, tenant="common"), 400, "invalid_request", 50059)
    _assert_aad(_app_token(sb, grant_type="password"), 400, "unsupported_grant_type", 70003)
    _assert_aad(_app_token(sb, tenant="t2"), 400, "unauthorized_client", 700016)


def test_graph_token_expiry_and_revocation(sb):
    _app(sb, accessTokenLifetime=1)
    submit(sb.url, _consent_page(sb))
    token = _app_token(sb).json()["access_token"]
    time.sleep(1.1)
    resp = _redirect(sb, token)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in resp.json()["error"]["message"]
    sb.control("PATCH", "microsoft/apps/app1", 200, json={"accessTokenLifetime": 600})
    token = _app_token(sb).json()["access_token"]
    assert _redirect(sb, token).status_code == 404
    out = sb.control("POST", "microsoft/revoke", 200,
                     json={"tenant": "t1", "clientId": "app1"}).json()
    # Both tokens, the expired one included, are gone.
    assert out == {"consentWithdrawn": True, "revokedAccessTokens": 2}
    assert _redirect(sb, token).status_code == 401
    _assert_aad(_app_token(sb), 400, "unauthorized_client", 700016)


def test_graph_token_does_not_work_on_webex(sb):
    _app(sb)
    submit(sb.url, _consent_page(sb))
    token = _app_token(sb).json()["access_token"]
    sb.person("t1", "p1")
    resp = requests.get(f"{sb.url}/webex/v1/people/p1/features/callForwarding",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert resp.status_code == 401


def _ucwa_token(sb, **form):
    return requests.post(f"{sb.url}/ucwa/WebTicket/oauthtoken", data=form, timeout=5)


def _ucwa_get(sb, app_id, token):
    return requests.get(
        f"{sb.url}/ucwa/v1/applications/{app_id}/me/callForwardingSettings",
        headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_ucwa_webticket_token(sb):
    sb.control("POST", "ucwa/accounts", 201, json={
        "username": "svc@contoso.com", "password": "pw", "orgId": "o1", "tokenLifetime": 1})
    sb.ucwa_app("a1", "static-token", org_id="o1")
    sb.ucwa_app("a2", "other-static", org_id="o1")
    sb.ucwa_app("b1", "b-static", org_id="o2")
    resp = _ucwa_token(sb, grant_type="password", username="svc@contoso.com", password="pw")
    assert resp.status_code == 200
    body = resp.json()
    assert body["access_token"].startswith("cwt=")
    assert (body["expires_in"], body["ms_rtc_identityscope"], body["token_type"]) == (
        1, "local", "Bearer")
    token = body["access_token"]
    assert _ucwa_get(sb, "a1", token).status_code == 200
    assert _ucwa_get(sb, "a2", token).status_code == 200
    assert _ucwa_get(sb, "b1", token).status_code == 401
    assert _ucwa_get(sb, "a1", "static-token").status_code == 200  # still works
    time.sleep(1.1)
    expired = _ucwa_get(sb, "a1", token)
    assert expired.status_code == 401 and expired.json()["code"] == "Unauthorized"
    assert "MsRtcOAuth" in expired.headers["WWW-Authenticate"]
    bad = _ucwa_token(sb, grant_type="password", username="svc@contoso.com", password="no")
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_grant"}
