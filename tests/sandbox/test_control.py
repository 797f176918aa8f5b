"""Control API, request log, stats, HTTP plumbing (keep-alive, errors), process start."""

from __future__ import annotations

import http.client
import json
import re
import threading
from urllib.parse import urlsplit

import pytest
import requests

from providers.sandbox import create_server

from .process import start_sandbox, stop_sandbox

WEBEX = "/webex/v1/people/{}/features/callForwarding"


@pytest.fixture
def seeded(sb):
    sb.token("tok-a", "org-a")
    sb.person("org-a", "alice")
    return sb


def auth(token="tok-a"):
    return {"Authorization": f"Bearer {token}"}


def test_listening_line_and_free_port():
    url, proc = start_sandbox()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json() == {"ok": True}
    finally:
        stop_sandbox(proc)
    assert proc.returncode is not None


def test_reset_forgets_everything(seeded, receiver):
    sb = seeded
    sb.ucwa_app("192", "cwt", org_id="org-a")
    sb.line("bot", "org-a", receiver.url)
    sb.call("bot", "+14255550100")
    sb.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 5})
    sb.control(
        "POST",
        "faults",
        201,
        json={"status": 500, "delayMs": 1, "count": 3, "match": {"personId": "nobody"}},
    )
    sb.http.get(sb.url + WEBEX.format("alice"), headers=auth())
    assert sb.control("POST", "reset", 200).json() == {"reset": True}
    assert sb.control("GET", "tokens", 200).json() == []
    assert sb.control("GET", "webex/people", 200).json() == []
    assert sb.control("GET", "ucwa/applications", 200).json() == []
    assert sb.control("GET", "graph/lines", 200).json() == []
    assert sb.control("GET", "graph/calls", 200).json() == []
    assert sb.control("GET", "ratelimits", 200).json() == []
    assert sb.control("GET", "faults", 200).json() == []
    assert sb.requests_log() == []
    assert sb.control("GET", "stats", 200).json() == {
        "requests": 0,
        "byStatus": {},
        "maxConcurrentPerPerson": {},
        "inFlightPerPerson": {},
        "identity": {"tokenRequests": []},
    }
    assert sb.http.get(sb.url + WEBEX.format("alice"), headers=auth()).status_code == 401


def test_token_registration(sb):
    created = sb.control(
        "POST", "tokens", 201, json={"token": "t", "orgId": "o", "partnerFor": ["c1"]}
    ).json()
    assert created == {"token": "t", "orgId": "o", "partnerFor": ["c1"]}
    assert sb.control("GET", "tokens", 200).json() == [created]
    assert sb.control("POST", "tokens", json={"token": "t"}).status_code == 400
    assert (
        sb.control(
            "POST", "tokens", json={"token": "t", "orgId": "o", "partnerFor": "c1"}
        ).status_code
        == 400
    )


def test_person_registration(sb):
    created = sb.control(
        "POST",
        "webex/people",
        201,
        json={"orgId": "o", "personId": "p", "systemMaxNumberOfRings": 12},
    ).json()
    assert created["personId"] == "p"
    assert created["orgId"] == "o"
    assert created["systemMaxNumberOfRings"] == 12
    assert created["settings"]["callForwarding"]["noAnswer"]["numberOfRings"] == 3
    assert sb.control("GET", "webex/people/p", 200).json() == created
    sb.control("GET", "webex/people/q", 404)
    assert sb.control("POST", "webex/people", json={"orgId": "o"}).status_code == 400
    assert (
        sb.control(
            "POST",
            "webex/people",
            json={"orgId": "o", "personId": "p", "systemMaxNumberOfRings": "20"},
        ).status_code
        == 400
    )


def test_ucwa_application_registration(sb):
    created = sb.ucwa_app("192", "cwt", org_id="org-u", errors={"Forbidden": True})
    assert created["applicationId"] == "192"
    assert created["orgId"] == "org-u"
    assert created["errors"]["Forbidden"] is True
    assert created["settings"]["activeSetting"] == "off"
    assert sb.control("GET", "ucwa/applications/192", 200).json() == created
    sb.control("PATCH", "ucwa/applications/193", 404, json={"errors": {}})


def test_request_log(seeded):
    sb = seeded
    sb.http.put(
        sb.url + WEBEX.format("alice"),
        params={"orgId": "org-a"},
        json={"callForwarding": {"busy": {"enabled": True}}},
        headers=auth(),
    )
    sb.http.get(sb.url + WEBEX.format("alice"), headers=auth())
    sb.http.get(sb.url + WEBEX.format("ghost"), headers=auth("bad"))
    sb.control("GET", "stats", 200)  # control requests are not logged
    log = sb.requests_log()
    assert [e["seq"] for e in log] == [1, 2, 3]
    first = log[0]
    assert set(first) >= {
        "seq",
        "method",
        "path",
        "query",
        "body",
        "status",
        "orgId",
        "personId",
        "start",
        "end",
    }
    assert first["method"] == "PUT"
    assert first["path"] == WEBEX.format("alice")
    assert first["query"] == {"orgId": "org-a"}
    assert first["body"] == {"callForwarding": {"busy": {"enabled": True}}}
    assert first["status"] == 204
    assert first["orgId"] == "org-a"
    assert first["personId"] == "alice"
    assert first["start"] <= first["end"]
    assert log[1]["body"] is None
    assert log[2]["status"] == 401
    assert log[2]["orgId"] is None
    assert log[2]["personId"] == "ghost"
    assert [e["seq"] for e in sb.requests_log(since=1)] == [2, 3]
    assert [e["seq"] for e in sb.requests_log(path="ghost")] == [3]
    assert sb.control("GET", "requests", params={"since": "x"}).status_code == 400


def test_request_log_records_malformed_body_as_null(seeded):
    sb = seeded
    sb.http.put(sb.url + WEBEX.format("alice"), data=b"{oops", headers=auth())
    entry = sb.requests_log()[-1]
    assert entry["status"] == 400
    assert entry["body"] is None


def test_stats_by_status(seeded):
    sb = seeded
    sb.http.get(sb.url + WEBEX.format("alice"), headers=auth())
    sb.http.get(sb.url + WEBEX.format("alice"), headers=auth())
    sb.http.get(sb.url + WEBEX.format("alice"), headers=auth("nope"))
    stats = sb.control("GET", "stats", 200).json()
    assert stats["requests"] == 3
    assert stats["byStatus"] == {"200": 2, "401": 1}
    assert stats["maxConcurrentPerPerson"] == {"alice": 1}


@pytest.mark.parametrize("path", ["/", "/nothing", "/webexx/v1", "/graph", "/_sandboxes"])
def test_unknown_paths_are_json_404(sb, path):
    resp = sb.http.get(sb.url + path)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json"
    assert "error" in resp.json() or "message" in resp.json()


def test_unknown_control_route_404_and_wrong_method_405(sb):
    resp = sb.control("GET", "nope")
    assert resp.status_code == 404
    assert resp.json() == {"error": "no control route /_sandbox/nope"}
    resp = sb.control("GET", "reset")
    assert resp.status_code == 405
    assert resp.json() == {"error": "method GET not allowed on /_sandbox/reset"}


def test_control_malformed_json_is_400(sb):
    resp = sb.http.post(sb.url + "/_sandbox/tokens", data=b"{nope")
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("Malformed JSON body")
    resp = sb.http.post(sb.url + "/_sandbox/tokens", json=["token"])
    assert resp.status_code == 400


def test_keep_alive_with_exact_content_length(seeded):
    """Several requests, including 204s and errors, on one HTTP/1.1 connection."""
    sb = seeded
    parts = urlsplit(sb.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", WEBEX.format("alice"), headers=auth())
        first = conn.getresponse()
        assert first.status == 200
        json.loads(first.read())
        sock = conn.sock
        for method, body, status in [
            ("PUT", b'{"callForwarding": {"always": {"enabled": true}}}', 204),
            ("PUT", b'{"callForwarding": {"always": {"enabled": 1}}}', 400),
            ("PUT", b"{bad json", 400),
            ("GET", None, 200),
        ]:
            conn.request(method, WEBEX.format("alice"), body=body, headers=auth())
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == status
            assert resp.getheader("Content-Length") == str(len(data))
            assert resp.getheader("Connection") is None
            assert conn.sock is sock, "the connection was not kept alive"
        conn.request("GET", "/no/such/path")
        resp = conn.getresponse()
        assert resp.status == 404
        resp.read()
        assert conn.sock is sock
    finally:
        conn.close()


def test_chunked_request_body(seeded):
    sb = seeded
    parts = urlsplit(sb.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        body = iter([b'{"callForwarding": ', b'{"busy": {"enabled": true}}}'])
        conn.request("PUT", WEBEX.format("alice"), body=body, headers=auth(), encode_chunked=True)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 204
    finally:
        conn.close()
    got = sb.http.get(sb.url + WEBEX.format("alice"), headers=auth()).json()
    assert got["callForwarding"]["busy"]["enabled"] is True


def test_unsupported_method_is_json(sb):
    resp = sb.http.request("OPTIONS", sb.url + "/_sandbox/health")
    assert resp.status_code == 501
    assert resp.json() == {"error": "Unsupported method ('OPTIONS')"}


@pytest.fixture
def in_process_server():
    server = create_server("127.0.0.1", 0)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_unexpected_exception_is_a_json_500_without_traceback(in_process_server, capsys):
    server = in_process_server
    webex = server.providers[0]

    def boom(req):
        raise RuntimeError("kaboom secret detail")

    webex.handle = boom
    server.state.tokens.clear()
    resp = requests.get(server.base_url + WEBEX.format("alice"), timeout=5)
    assert resp.status_code == 500
    body = resp.json()
    assert body["message"] == "Internal sandbox error."
    assert body["trackingId"] == resp.headers["TrackingID"]
    assert "Traceback" not in resp.text
    assert "kaboom" not in resp.text
    assert "kaboom secret detail" in capsys.readouterr().err
    entry = server.state.requests_view(None, None)[-1]
    assert entry["status"] == 500
    # The server keeps serving afterwards.
    assert requests.get(server.base_url + "/_sandbox/health", timeout=5).status_code == 200


def test_control_exception_is_a_json_500(in_process_server, capsys):
    server = in_process_server

    def boom(req, args):
        raise KeyError("oops")

    server.control.routes.insert(0, ("GET", ("health",), boom))
    resp = requests.get(server.base_url + "/_sandbox/health", timeout=5)
    assert resp.status_code == 500
    assert resp.json() == {"error": "internal sandbox error (see its stderr)"}
    assert "KeyError" in capsys.readouterr().err
