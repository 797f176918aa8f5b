"""Throughput of the provider sandbox for Webex call-forwarding PUTs.

Starts the sandbox in a subprocess on a free port (or uses ``--url``), creates a
token and N people, then sends one PUT per person from several threads, each with
its own keep-alive ``requests.Session``, and prints requests/s, p50/p99 latency and
the ratio against the 300 requests/s target.  Exit status 1 if below the target.

    .venv/bin/python bench/sandbox_throughput.py [-n 3000] [--threads 8] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

TARGET_PER_SECOND = 300
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))

from servers import stop_on_sigterm  # noqa: E402


def start_sandbox() -> tuple[str, subprocess.Popen]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "providers.sandbox", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    prefix = "sandbox listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return line[len(prefix) :], proc


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def main() -> int:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=3000, help="PUTs (= people)")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--url", help="use a running sandbox instead of starting one")
    args = parser.parse_args()

    proc = None
    url = args.url
    if url is None:
        url, proc = start_sandbox()
    url = url.rstrip("/")
    try:
        setup = requests.Session()
        setup.post(f"{url}/_sandbox/reset").raise_for_status()
        setup.post(
            f"{url}/_sandbox/tokens", json={"token": "bench-token", "orgId": "bench-org"}
        ).raise_for_status()
        people = [f"bench-person-{i}" for i in range(args.requests)]
        for person_id in people:
            setup.post(
                f"{url}/_sandbox/webex/people", json={"orgId": "bench-org", "personId": person_id}
            ).raise_for_status()

        body = {
            "callForwarding": {
                "always": {"enabled": True, "destination": "+15551230000"},
                "noAnswer": {"enabled": True, "destination": "+15551239999", "numberOfRings": 4},
            }
        }
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        slices = [people[i :: args.threads] for i in range(args.threads)]
        barrier = threading.Barrier(args.threads + 1)

        def worker(batch: list[str]) -> None:
            session = requests.Session()
            session.headers["Authorization"] = "Bearer bench-token"
            mine: list[float] = []
            errors: list[str] = []
            barrier.wait()
            for person_id in batch:
                t0 = time.perf_counter()
                resp = session.put(
                    f"{url}/webex/v1/people/{person_id}/features/callForwarding", json=body
                )
                mine.append(time.perf_counter() - t0)
                if resp.status_code != 204:
                    errors.append(f"{person_id}: {resp.status_code}")
            with lock:
                latencies.extend(mine)
                failures.extend(errors)

        threads = [threading.Thread(target=worker, args=(s,)) for s in slices]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started

        latencies.sort()
        rate = len(latencies) / elapsed
        print(f"requests:   {len(latencies)} PUTs, {args.threads} threads, {elapsed:.2f} s")
        print(f"throughput: {rate:.0f} requests/s")
        print(
            f"latency:    p50 {percentile(latencies, 0.50) * 1000:.2f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms, "
            f"mean {statistics.fmean(latencies) * 1000:.2f} ms"
        )
        print(f"target:     {rate / TARGET_PER_SECOND:.2f}x of {TARGET_PER_SECOND}/s")
        print(f"failures:   {len(failures)}")
        print(f"machine:    {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        return 0 if rate >= TARGET_PER_SECOND and not failures else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
