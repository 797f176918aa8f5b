"""Per-org rate limits (429 + Retry-After) and injected faults (status, delay, count)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

WEBEX = "/webex/v1/people/{}/features/callForwarding"
UCWA_IMMEDIATE = (
    "/ucwa/v1/applications/{}/me/callForwardingSettings/immediateForwardSettings/"
    "immediateForwardToContact"
)
BUSY_ON = {"callForwarding": {"busy": {"enabled": True, "destination": "+15550001"}}}


@pytest.fixture
def orgs(sb):
    sb.token("tok-a", "org-a")
    sb.token("tok-b", "org-b")
    sb.token("tok-p", "org-p", partner_for=["org-a"])
    sb.person("org-a", "alice")
    sb.person("org-a", "amy")
    sb.person("org-b", "bob")
    return sb


def put(sb, person="alice", token="tok-a", **kwargs):
    return sb.http.put(
        sb.url + WEBEX.format(person),
        json=BUSY_ON,
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )


def get(sb, person="alice", token="tok-a", **kwargs):
    return sb.http.get(
        sb.url + WEBEX.format(person), headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


# --- rate limits --------------------------------------------------------------


def test_rate_limit_answers_429_with_integer_retry_after_then_recovers(orgs):
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 2})
    assert put(orgs).status_code == 204
    assert put(orgs, "amy").status_code == 204
    limited = put(orgs)
    assert limited.status_code == 429
    retry_after = limited.headers["Retry-After"]
    assert retry_after == "1"  # ceil of a wait under a second, and never 0
    tracking = limited.headers["TrackingID"]
    assert limited.json() == {
        "message": "Too many requests for this organization; retry later.",
        "errors": [{"description": "Too many requests for this organization; retry later."}],
        "trackingId": tracking,
    }
    # Other orgs and the control API are not limited.
    assert put(orgs, "bob", "tok-b").status_code == 204
    for _ in range(5):
        orgs.control("GET", "stats", 200)
    time.sleep(int(retry_after))
    assert put(orgs).status_code == 204


def test_retry_after_is_the_ceiling_of_the_real_wait(orgs):
    # 0.5/s: one token of capacity, the next one 2 s later.
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 0.5})
    assert get(orgs).status_code == 200
    limited = get(orgs)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"


def test_rate_limit_org_of_a_partner_request_is_the_org_id_param(orgs):
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 1})
    assert get(orgs, token="tok-p", params={"orgId": "org-a"}).status_code == 200
    assert get(orgs, token="tok-p", params={"orgId": "org-a"}).status_code == 429
    # The partner's own org has no limit (and alice is not there: 404, not 429).
    assert get(orgs, token="tok-p").status_code == 404


def test_rate_limit_removed_with_null_or_zero(orgs):
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 1})
    assert orgs.control("GET", "ratelimits", 200).json() == [{"orgId": "org-a", "perSecond": 1}]
    put(orgs)
    assert put(orgs).status_code == 429
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": None})
    assert put(orgs).status_code == 204
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 1})
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 0})
    assert [put(orgs).status_code for _ in range(3)] == [204, 204, 204]
    assert orgs.control("GET", "ratelimits", 200).json() == []


def test_rate_limit_ucwa_uses_the_applications_org(sb):
    sb.ucwa_app("192", "cwt", org_id="org-u")
    sb.control("PUT", "ratelimits/org-u", 200, json={"perSecond": 1})
    url = sb.url + UCWA_IMMEDIATE.format("192")
    headers = {"Authorization": "Bearer cwt"}
    assert sb.http.post(url, params={"target": "tel:+1"}, headers=headers).status_code == 204
    limited = sb.http.post(url, params={"target": "tel:+1"}, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json() == {
        "code": "TooManyRequests",
        "message": "Too many requests for this organization; retry later.",
    }


def test_rate_limit_graph_uses_the_lines_org(sb, receiver):
    sb.token("tok-g", "tenant-g")
    sb.line("bot", "tenant-g", receiver.url)
    sb.control("PUT", "ratelimits/tenant-g", 200, json={"perSecond": 1})
    first, second = sb.call("bot", "+14255550100"), sb.call("bot", "+14255550101")
    body = {"targets": [{"identity": {"phone": {"id": "+12345678901"}}}]}
    headers = {"Authorization": "Bearer tok-g"}
    url = sb.url + "/graph/v1.0/communications/calls/{}/redirect"
    assert sb.http.post(url.format(first["id"]), json=body, headers=headers).status_code == 202
    limited = sb.http.post(url.format(second["id"]), json=body, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json()["error"]["code"] == "TooManyRequests"


def test_rate_limit_validation(sb):
    assert sb.control("PUT", "ratelimits/org-a", json={"perSecond": "ten"}).status_code == 400
    assert sb.control("PUT", "ratelimits/org-a", json={"perSecond": -1}).status_code == 400


# --- faults -------------------------------------------------------------------


def test_status_fault_with_retry_after_for_count_requests(orgs):
    created = orgs.control(
        "POST",
        "faults",
        201,
        json={"match": {"personId": "alice"}, "status": 503, "retryAfter": 7, "count": 2},
    ).json()
    assert created == {
        "id": created["id"],
        "match": {"personId": "alice"},
        "status": 503,
        "retryAfter": 7,
        "delayMs": None,
        "count": 2,
    }
    first = put(orgs)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "7"
    assert first.json() == {
        "message": f"Injected fault {created['id']}.",
        "errors": [{"description": f"Injected fault {created['id']}."}],
        "trackingId": first.headers["TrackingID"],
    }
    # Another person is not matched.
    assert put(orgs, "amy").status_code == 204
    assert orgs.control("GET", "faults", 200).json()[0]["count"] == 1
    assert get(orgs).status_code == 503
    # Count exhausted: served normally, and the fault is gone.
    assert put(orgs).status_code == 204
    assert orgs.control("GET", "faults", 200).json() == []
    assert get(orgs).json()["callForwarding"]["busy"]["enabled"] is True


def test_status_fault_without_retry_after_has_no_header(orgs):
    orgs.control(
        "POST", "faults", 201, json={"match": {"orgId": "org-a"}, "status": 423, "count": 1}
    )
    resp = put(orgs, "amy")
    assert resp.status_code == 423
    assert "Retry-After" not in resp.headers
    assert put(orgs, "amy").status_code == 204


def test_fault_matches_path_substring(orgs):
    orgs.control(
        "POST", "faults", 201, json={"match": {"path": "/people/bob/"}, "status": 500, "count": 1}
    )
    assert put(orgs).status_code == 204
    assert put(orgs, "bob", "tok-b").status_code == 500


def test_fault_match_is_a_conjunction(orgs):
    orgs.control(
        "POST",
        "faults",
        201,
        json={"match": {"orgId": "org-b", "personId": "alice"}, "status": 500, "count": 1},
    )
    assert put(orgs).status_code == 204  # alice is in org-a
    assert put(orgs, "bob", "tok-b").status_code == 204  # bob is not alice
    assert len(orgs.control("GET", "faults", 200).json()) == 1


def test_delay_fault_then_served_normally(orgs):
    orgs.control(
        "POST", "faults", 201, json={"match": {"personId": "alice"}, "delayMs": 300, "count": 1}
    )
    started = time.monotonic()
    resp = put(orgs)
    elapsed = time.monotonic() - started
    assert resp.status_code == 204
    assert elapsed >= 0.3
    entry = orgs.requests_log()[-1]
    assert entry["status"] == 204
    assert entry["end"] - entry["start"] >= 0.3
    started = time.monotonic()
    assert put(orgs).status_code == 204
    assert time.monotonic() - started < 0.3


def test_delay_and_status_together(orgs):
    orgs.control(
        "POST",
        "faults",
        201,
        json={
            "match": {"personId": "alice"},
            "delayMs": 200,
            "status": 504,
            "retryAfter": 3,
            "count": 1,
        },
    )
    started = time.monotonic()
    resp = put(orgs)
    assert time.monotonic() - started >= 0.2
    assert resp.status_code == 504
    assert resp.headers["Retry-After"] == "3"


def test_ucwa_fault_shape(sb):
    sb.ucwa_app("192", "cwt", org_id="org-u")
    sb.control(
        "POST",
        "faults",
        201,
        json={"match": {"personId": "192"}, "status": 503, "retryAfter": 2, "count": 1},
    )
    resp = sb.http.post(
        sb.url + UCWA_IMMEDIATE.format("192"),
        params={"target": "tel:+1"},
        headers={"Authorization": "Bearer cwt"},
    )
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.json() == {"code": "ServiceUnavailable", "message": "Injected fault fault-1."}


def test_graph_fault_matches_call_id(sb, receiver):
    sb.token("tok-g", "tenant-g")
    sb.line("bot", "tenant-g", receiver.url)
    call = sb.call("bot", "+14255550100")
    sb.control(
        "POST", "faults", 201, json={"match": {"personId": call["id"]}, "status": 500, "count": 1}
    )
    url = sb.url + f"/graph/v1.0/communications/calls/{call['id']}/redirect"
    body = {"targets": [{"identity": {"phone": {"id": "+12345678901"}}}]}
    headers = {"Authorization": "Bearer tok-g"}
    failed = sb.http.post(url, json=body, headers=headers)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "InternalServerError"
    assert sb.get_call(call["id"])["state"] == "incoming"
    assert sb.http.post(url, json=body, headers=headers).status_code == 202


def test_faults_come_before_rate_limits_and_do_not_consume_tokens(orgs):
    orgs.control("PUT", "ratelimits/org-a", 200, json={"perSecond": 1})
    orgs.control(
        "POST", "faults", 201, json={"match": {"personId": "alice"}, "status": 500, "count": 2}
    )
    assert [put(orgs).status_code for _ in range(3)] == [500, 500, 204]


def test_delete_fault_and_reset_clear_faults(orgs):
    fault = orgs.control("POST", "faults", 201, json={"status": 500, "count": 5}).json()
    orgs.control("POST", "faults", 201, json={"status": 502, "count": 5})
    orgs.control("DELETE", f"faults/{fault['id']}", 200)
    assert [f["status"] for f in orgs.control("GET", "faults", 200).json()] == [502]
    orgs.control("DELETE", f"faults/{fault['id']}", 404)
    orgs.control("POST", "reset", 200)
    assert orgs.control("GET", "faults", 200).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"count": 1},  # neither status nor delay
        {"status": 200, "count": 1},
        {"status": 500, "count": 0},
        {"status": 500, "count": 1, "match": {"user": "x"}},
        {"status": 500, "count": 1, "match": "alice"},
        {"delayMs": -5, "count": 1},
    ],
)
def test_fault_validation(sb, body):
    assert sb.control("POST", "faults", json=body).status_code == 400


# --- concurrency stats ----------------------------------------------------------


def test_max_concurrent_per_person(orgs):
    orgs.control(
        "POST", "faults", 201, json={"match": {"personId": "alice"}, "delayMs": 300, "count": 2}
    )
    results = []

    def worker():
        # One session per thread: requests.Session is not meant to be shared.
        with requests.Session() as session:
            resp = session.put(
                orgs.url + WEBEX.format("alice"),
                json=BUSY_ON,
                headers={"Authorization": "Bearer tok-a"},
                timeout=5,
            )
            results.append(resp.status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [204, 204]
    put(orgs, "amy")
    put(orgs, "amy")
    stats = orgs.control("GET", "stats", 200).json()
    assert stats["maxConcurrentPerPerson"] == {"alice": 2, "amy": 1}
    assert stats["requests"] == 4
    assert stats["byStatus"] == {"204": 4}
    assert stats["inFlightPerPerson"] == {}
