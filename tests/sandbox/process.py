"""Start and stop the provider sandbox as a subprocess (reusable by any test suite).

base_url, proc = start_sandbox()
...
stop_sandbox(proc)
"""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING_PREFIX = "sandbox listening on "


def start_sandbox(host: str = "127.0.0.1", timeout: float = 15.0) -> tuple[str, subprocess.Popen]:
    """Launch ``python -m providers.sandbox --port 0``; return (base URL, process)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "providers.sandbox", "--host", host, "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.startswith(LISTENING_PREFIX):
        stop_sandbox(proc)
        raise RuntimeError(f"sandbox did not start (first stdout line: {line!r})")
    return line[len(LISTENING_PREFIX) :], proc


def stop_sandbox(proc: subprocess.Popen) -> None:
    """Terminate the sandbox (kill it if it does not exit within 5 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()
