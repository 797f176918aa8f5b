"""Real moving parts for integration tests: a private Redis that tests may stop and
start, real Celery worker processes on it, and the provider sandbox over HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout} s")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of the tests' own, so stopping it cannot disturb anything else."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-it-")
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, message="private redis up")

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class Worker:
    """A real `celery worker` process (prefork), optionally with embedded beat."""

    def __init__(self, *, env, name, queues="calls,interactive,bulk", concurrency=2,
                 beat=False):
        self.env = env
        self.name = name
        self.queues = queues
        self.concurrency = concurrency
        self.beat = beat
        self.proc = None
        self.log = Path(tempfile.mkstemp(prefix=f"worker-{name}-", suffix=".log")[1])

    def start(self):
        cmd = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", self.queues,
               "-c", str(self.concurrency), "-n", f"{self.name}@%h", "-l", "info",
               "--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"]
        if self.beat:
            schedule = str(Path(tempfile.mkdtemp(prefix="beat-")) / "schedule")
            cmd += ["-B", "-s", schedule, "--scheduler", "celery.beat:PersistentScheduler"]
        handle = self.log.open("ab")
        # Own process group: SIGKILL reaches the pool children too, like a crashed host.
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: b" ready." in self.log.read_bytes() or self.proc.poll() is not None,
                   60, message=f"worker {self.name} ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {self.name} died:\n{self.log.read_text()[-3000:]}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def supervise(self):
        """Restart the worker if it exited, as systemd's Restart=always would; returns
        True when it had to."""
        if self.alive():
            return False
        self.start()
        return True

    def kill(self):
        """SIGKILL the worker and its pool children at once (no warm shutdown)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self):
        return self.log.read_text(errors="replace")


class SandboxClient:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def control(self, method, path, expect=None, **kwargs):
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", timeout=10, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.text)
        return response

    def reset(self):
        self.control("POST", "reset", expect=200)

    @property
    def notification_openid_config(self):
        """GRAPH_NOTIFICATION_OPENID_CONFIG for a portal that trusts this sandbox's keys."""
        return f"{self.url}/aps/v1/.well-known/OpenIdConfiguration"

    def jwt(self, claims, headers=None):
        """A token signed with the sandbox's current key (`iss`, `iat`, `nbf`, `exp` filled
        in when absent)."""
        body = {"claims": claims, **({"headers": headers} if headers else {})}
        return self.control("POST", "jwt", expect=200, json=body).json()["token"]

    def requests(self, path=None):
        params = {"path": path} if path else None
        return self.control("GET", "requests", expect=200, params=params).json()

    def webex_state(self, person_id, token, org_id=None):
        params = {"orgId": org_id} if org_id else None
        response = self.http.get(
            f"{self.url}/webex/v1/people/{person_id}/features/callForwarding",
            headers={"Authorization": f"Bearer {token}"}, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()
