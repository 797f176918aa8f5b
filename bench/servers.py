"""Starting and stopping the web servers the benches measure, in one place.

- `start_procfile_web`: the Procfile's `web` command as `make run` starts it (honcho runs
  it in a shell with the virtualenv's bin first on PATH; gunicorn then reads
  gunicorn.conf.py as production does);
- `start_production_web`: gunicorn as production starts it: `gunicorn portal.wsgi`, every
  setting from gunicorn.conf.py;
- `wait_listening` / `stop`: a server is used once it answers, and never left behind;
- `stop_on_sigterm`: a bench stopped with SIGTERM (a `timeout`, a CI runner) leaves
  through its `finally` blocks as it would on Ctrl-C, so its servers and workers stop
  with it instead of holding their ports and CPUs.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stop_on_sigterm():
    def leave(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_listening(proc, port, probe="/healthz"):
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{probe}", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("the web server did not start")


def _bin_first(env):
    return dict(env, PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")


def start_procfile_web(env, port):
    """The Procfile's `web` command on `port`. Its access log (make run prints a line per
    request) is written, as there, but not shown here."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith("web:"))
    env = _bin_first(dict(env, WEB_BIND=f"127.0.0.1:{port}", PORT=str(port)))
    command = shlex.split(line.split(":", 1)[1])
    command[0] = shutil.which(command[0], path=env["PATH"]) or command[0]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL)
    return wait_listening(proc, port)


def start_production_web(env, port):
    """`gunicorn portal.wsgi:application` on `port`, sized and configured by
    gunicorn.conf.py alone, as the README's production section starts it."""
    env = _bin_first(dict(env, WEB_BIND=f"127.0.0.1:{port}"))
    gunicorn = shutil.which("gunicorn", path=env["PATH"]) or "gunicorn"
    proc = subprocess.Popen([gunicorn, "portal.wsgi:application", "--log-level", "warning"],
                            cwd=ROOT, env=env, start_new_session=True)
    return wait_listening(proc, port)
