"""Webex integration OAuth in the sandbox: consent page, code + PKCE, refresh, revocation."""

from __future__ import annotations

import time

import requests

from .identity_helpers import parse_form, pkce_pair, submit, title_of

REDIRECT = "https://portal.test/connect/webex/callback"
SCOPE = "spark-admin:people_read spark-admin:people_write"


def _client(sb, **fields):
    body = {"clientId": "cid", "clientSecret": "sec", "redirectUris": [REDIRECT], **fields}
    return sb.control("POST", "webex/clients", 201, json=body).json()


def _authorize(sb, challenge, **extra):
    params = {"response_type": "code", "client_id": "cid", "redirect_uri": REDIRECT,
              "scope": SCOPE, "state": "st8", "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return requests.get(sb.url + "/webex/v1/authorize", params=params,
                        allow_redirects=False, timeout=5)


def _token(sb, **form):
    return requests.post(sb.url + "/webex/v1/access_token", data=form, timeout=5)


def _connect(sb, org="org-a"):
    verifier, challenge = pkce_pair()
    back = submit(sb.url, _authorize(sb, challenge), orgId=org)
    resp = _token(sb, grant_type="authorization_code", client_id="cid", client_secret="sec",
                  code=back["code"], redirect_uri=REDIRECT, code_verifier=verifier)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _settings(sb, token, person="p1", org=None):
    params = {"orgId": org} if org else None
    return requests.get(f"{sb.url}/webex/v1/people/{person}/features/callForwarding",
                        headers={"Authorization": f"Bearer {token}"}, params=params, timeout=5)


def test_consent_page_lists_scopes_and_orgs(sb):
    _client(sb)
    sb.control("POST", "webex/orgs", 201, json={"orgId": "org-a", "name": "Acme"})
    sb.person("org-b", "p9")
    page = _authorize(sb, pkce_pair()[1])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert title_of(page.text) == "Webex sandbox: authorize cid"
    assert "spark-admin:people_write" in page.text
    form = parse_form(page.text)
    assert form.selects["orgId"] == ["org-a", "org-b"]
    assert form.labels["orgId"] == "Organization"
    assert ("decision", "approve") in form.buttons and ("decision", "deny") in form.buttons


def test_code_exchange_gives_a_token_for_the_chosen_org(sb):
    _client(sb)
    sb.person("org-a", "p1")
    body = _connect(sb)
    assert set(body) == {"access_token", "expires_in", "refresh_token",
                         "refresh_token_expires_in", "token_type", "scope"}
    assert body["expires_in"] == 1209600 and body["refresh_token_expires_in"] == 7776000
    assert body["token_type"] == "Bearer" and body["scope"] == SCOPE
    assert _settings(sb, body["access_token"]).status_code == 200
    clients = sb.control("GET", "webex/clients", 200).json()
    assert clients[0]["authorizationCodesIssued"] == 1 and clients[0]["codeExchanges"] == 1


def test_deny_and_bad_requests(sb):
    _client(sb)
    sb.person("org-a", "p1")
    back = submit(sb.url, _authorize(sb, pkce_pair()[1]), decision="deny")
    assert back == {"error": "access_denied", "error_description": back["error_description"],
                    "state": "st8"}
    resp = _authorize(sb, "x", code_challenge_method="plain")
    assert resp.status_code == 302 and "error=invalid_request" in resp.headers["Location"]
    assert "state=st8" in resp.headers["Location"]
    resp = _authorize(sb, "", )
    assert resp.status_code == 302 and "error=invalid_request" in resp.headers["Location"]
    resp = _authorize(sb, "x", redirect_uri="https://evil.test/cb")
    assert resp.status_code == 400 and "Location" not in resp.headers
    resp = _authorize(sb, "x", client_id="nobody")
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_code_is_single_use_and_pkce_is_checked(sb):
    _client(sb)
    sb.person("org-a", "p1")
    verifier, challenge = pkce_pair()
    code = submit(sb.url, _authorize(sb, challenge), orgId="org-a")["code"]
    form = dict(grant_type="authorization_code", client_id="cid", client_secret="sec",
                code=code, redirect_uri=REDIRECT)
    bad = _token(sb, **form, code_verifier="wrong" * 10)
    assert bad.status_code == 400
    body = bad.json()
    assert body["error"] == "invalid_grant"
    assert body["trackingId"] and body["errors"][0]["description"] == body["message"]
    # The failed attempt used the code up, as the code is single use.
    again = _token(sb, **form, code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    code = submit(sb.url, _authorize(sb, challenge), orgId="org-a")["code"]
    form["code"] = code
    assert _token(sb, **form, code_verifier=verifier).status_code == 200
    assert _token(sb, **form, code_verifier=verifier).json()["error"] == "invalid_grant"


def test_bad_client_credentials_get_401(sb):
    _client(sb)
    resp = _token(sb, grant_type="refresh_token", client_id="cid", client_secret="nope",
                  refresh_token="x")
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    resp = _token(sb, grant_type="password", client_id="cid", client_secret="sec")
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


def test_refresh_keeps_the_refresh_token_unless_the_client_rotates(sb):
    _client(sb)
    sb.person("org-a", "p1")
    first = _connect(sb)
    form = dict(grant_type="refresh_token", client_id="cid", client_secret="sec")
    second = _token(sb, **form, refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    sb.control("PATCH", "webex/clients/cid", 200, json={"rotateRefreshTokens": True})
    third = _token(sb, **form, refresh_token=first["refresh_token"]).json()
    assert third["refresh_token"] != first["refresh_token"]
    old = _token(sb, **form, refresh_token=first["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert _settings(sb, third["access_token"]).status_code == 200
    client = sb.control("GET", "webex/clients", 200).json()[0]
    assert client["refreshes"] == 2 and client["refusedRefreshes"] == 1
    stats = sb.control("GET", "identity/stats", 200).json()["tokenRequests"]
    row = next(r for r in stats if r["grantType"] == "refresh_token")
    assert (row["endpoint"], row["clientId"], row["succeeded"], row["refused"]) == (
        "webex", "cid", 2, 1)


def test_access_and_refresh_tokens_expire(sb):
    _client(sb, accessTokenLifetime=1, refreshTokenLifetime=2)
    sb.person("org-a", "p1")
    body = _connect(sb)
    assert body["expires_in"] == 1
    assert _settings(sb, body["access_token"]).status_code == 200
    time.sleep(1.1)
    expired = _settings(sb, body["access_token"])
    assert expired.status_code == 401
    assert set(expired.json()) == {"message", "errors", "trackingId"}
    time.sleep(1.0)
    resp = _token(sb, grant_type="refresh_token", client_id="cid", client_secret="sec",
                  refresh_token=body["refresh_token"])
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_partner_token_reaches_customer_orgs(sb):
    _client(sb)
    sb.control("POST", "webex/orgs", 201,
               json={"orgId": "partner", "name": "Partner", "partnerFor": ["cust"]})
    sb.person("cust", "p1")
    token = _connect(sb, org="partner")["access_token"]
    assert _settings(sb, token, org="cust").status_code == 200
    assert _settings(sb, token, org="other").status_code == 403


def test_revocation_by_org_and_by_refresh_token(sb):
    _client(sb)
    sb.person("org-a", "p1")
    sb.person("org-b", "p2")
    a, b = _connect(sb, "org-a"), _connect(sb, "org-b")
    out = sb.control("POST", "webex/revoke", 200, json={"orgId": "org-a"}).json()
    assert out == {"revokedRefreshTokens": 1, "revokedAccessTokens": 1}
    assert _settings(sb, a["access_token"]).status_code == 401
    assert _settings(sb, b["access_token"], person="p2").status_code == 200
    refused = _token(sb, grant_type="refresh_token", client_id="cid", client_secret="sec",
                     refresh_token=a["refresh_token"])
    assert refused.status_code == 400
    sb.control("POST", "webex/revoke", 200, json={"refreshToken": b["refresh_token"]})
    assert _settings(sb, b["access_token"], person="p2").status_code == 401
    sb.control("POST", "webex/revoke", 400, json={})


def test_minted_webex_token_is_not_a_graph_token(sb):
    _client(sb)
    sb.person("org-a", "p1")
    token = _connect(sb)["access_token"]
    resp = requests.post(f"{sb.url}/graph/v1.0/communications/calls/x/redirect",
                         headers={"Authorization": f"Bearer {token}"}, json={}, timeout=5)
    assert resp.status_code == 401


def test_token_endpoint_answers_injected_faults_in_webex_shape(sb):
    _client(sb)
    sb.control("POST", "faults", 201,
               json={"match": {"path": "/webex/v1/access_token"}, "status": 503})
    resp = _token(sb, grant_type="refresh_token", client_id="cid", client_secret="sec",
                  refresh_token="x")
    assert resp.status_code == 503 and resp.json()["error"] == "server_error"
