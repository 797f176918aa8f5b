"""`make run` serves the site with DEBUG off (the friendly 404 and 500 pages) while keeping
the sandbox's defaults; `make run DEBUG=1` is how a developer asks for Django's debug
pages. Settings are loaded in a fresh interpreter, as `make run` starts them."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.DEBUG, s.PROVIDER_ALLOW_LOOPBACK, s.WEBEX_CLIENT_ID, "
    "s.ALLOWED_HOSTS]))"
)


def settings_with(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SANDBOX_DEFAULTS")}
    clean.update(env, DJANGO_SETTINGS_MODULE="portal.settings.dev")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


def make_run_env():
    """The variables `make run` exports (make -p prints its target-specific ones; -n runs
    nothing)."""
    out = subprocess.run(["make", "-pn", "-C", str(ROOT), "run"],
                         capture_output=True, text=True, timeout=60).stdout
    found = {}
    for line in out.splitlines():
        for name in ("DEBUG", "SANDBOX_DEFAULTS"):
            if line.startswith(f"run: {name} = "):
                found[name] = line.split(" = ", 1)[1].strip()
    return found


def test_make_run_turns_debug_off_and_keeps_the_sandbox():
    exported = make_run_env()
    assert exported.get("DEBUG") == "0", exported
    debug, loopback, webex_client, hosts = settings_with(
        DEBUG=exported["DEBUG"], SANDBOX_DEFAULTS=exported["SANDBOX_DEFAULTS"])
    assert debug is False
    assert loopback is True  # the sandbox listens on 127.0.0.1
    assert webex_client == "portal-webex-demo"
    assert "127.0.0.1" in hosts and "localhost" in hosts


def test_a_developer_asks_for_debug_pages():
    # `make run DEBUG=1`: a command-line value wins over the Makefile's `?=`.
    assert "run: export DEBUG ?= 0" in (ROOT / "Makefile").read_text()
    debug, loopback, *_rest = settings_with(DEBUG="1", SANDBOX_DEFAULTS="1")
    assert debug is True and loopback is True
