"""The Graph webhook behind gunicorn, as in production (two processes): a notification
without Graph's signed token (here the sandbox's) is a 401, a chunked body (no
Content-Length) is read up to the cap and refused past it, an oversized or deeply nested
body is a 4xx, the per-org rate is one count across processes, and neither Django's log
nor gunicorn's access log prints the org's webhook key."""

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from forwarding.calltime import webhook_orgs
from portal.connections.selectors import bot_app_id
from tests.cast import make_org
from tests.sandbox.helpers import load_fixture

from .harness import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration

LIMIT = 20  # requests per org per window (1 per second over 20 s)
CAP = 64 * 1024


@pytest.fixture
def web(worker_env, sandbox):
    """gunicorn on a free port, with its access log turned on."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="webhook-server-"))
    access, output = folder / "access.log", folder / "output.log"
    env = dict(worker_env, GRAPH_WEBHOOK_RATE_PER_ORG="1", GRAPH_WEBHOOK_RATE_WINDOW=str(LIMIT),
               GRAPH_WEBHOOK_MAX_BYTES=str(CAP), GRAPH_REDIRECT_THREADS="0",
               GRAPH_NOTIFICATION_OPENID_CONFIG=sandbox.notification_openid_config)
    with output.open("ab") as handle:
        # From the repository's root, so that gunicorn reads its gunicorn.conf.py.
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "2", "-k", "gthread", "--threads", "2", "--access-logfile", str(access)],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True)

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
        except requests.RequestException:
            return proc.poll() is not None

    try:
        wait_until(up, 30, interval=0.2, message="gunicorn answers")
        assert proc.poll() is None, output.read_text()
        yield port, access, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)


def send(port, path, body, *, chunked=False, token=None):
    """(status, headers, body) of a POST over a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if chunked:
            size = 8192
            payload = (body[i:i + size] for i in range(0, len(body), size))
            connection.request("POST", path, body=payload, headers=headers,
                               encode_chunked=True)
        else:
            connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_webhook_behind_gunicorn(web, sandbox, transactional_db):
    port, access, output = web
    org = make_org("graph", graph_api_version="v1.0", base_url="http://graph.invalid/graph")
    path = webhook_orgs.webhook_path(org)
    follow_up = json.dumps(load_fixture("graph_v1_ex1_terminated.json")).encode()
    padding = b'{"value": [], "padding": "' + b"x" * CAP + b'"}'
    token = sandbox.jwt({"aud": bot_app_id(org), "tid": org.provider_org_id})
    other_tenant = sandbox.jwt({"aud": bot_app_id(org), "tid": "someone-else"})

    answers = [
        send(port, path, follow_up),  # no token
        send(port, path, follow_up, token=other_tenant),
        send(port, path, follow_up, chunked=True, token=token),  # read without a length
        send(port, path, padding, chunked=True, token=token),
        send(port, path, padding, token=token),
        send(port, path, b"[" * 30_000 + b"]" * 30_000, token=token),
        send(port, path, b"{not json", token=token),
    ]
    assert [status for status, _h, _b in answers] == [401, 401, 202, 413, 413, 400, 400]
    assert all(json.loads(body)["error"] for _s, _h, body in answers[3:])

    # Fresh connections land on both processes; they share one count in Redis.
    statuses = [send(port, path, follow_up, token=token)[0]
                for _ in range(LIMIT + 5 - len(answers))]
    assert statuses == [202] * (LIMIT - len(answers)) + [429] * 5
    status, headers, body = send(port, path, follow_up, token=token)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= LIMIT
    assert "retry after" in json.loads(body)["error"]

    def logged():
        text = access.read_text() + output.read_text()
        return text if text.count("/webhooks/graph/[redacted]/") >= LIMIT + 6 else None

    text = wait_until(logged, 10, message="every request in the logs")
    assert org.webhook_key not in text
    assert "Too Many Requests: /webhooks/graph/[redacted]/" in text
    assert "Unauthorized: /webhooks/graph/[redacted]/" in text
    assert '"POST /webhooks/graph/[redacted]/ HTTP/1.1" 429' in text
