"""What verifying Graph's notification token costs the webhook per request.

    python bench/notification_auth.py [--tokens 5000]

Signs `--tokens` distinct tokens (RS256, 2048-bit key, the claims Graph sends) and times
`providers.bot_tokens.bearer_token` + `verify` on each with the keys already cached (the
steady state: one JWKS fetch per process, then none until a new key id), and prints the
median, p99 and mean per request in microseconds, as wall time and as the thread's CPU
time (on a busy machine the wall p99 is mostly waiting for a CPU). The JWKS is served
over real HTTP from a thread (tests/bot_keys.py) and fetched once before timing. Django is
set up (the helper module imports a selector) but no database is used.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# tests/bot_keys.py reads an org's bot id through Django; its key server needs none of it,
# but importing the module needs Django set up.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

import django  # noqa: E402
import jwt  # noqa: E402

django.setup()

from providers import bot_tokens  # noqa: E402
from tests.bot_keys import KeyServer  # noqa: E402

ISSUER = "https://api.botframework.com"


def percentile(values, fraction):
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000)
    args = parser.parse_args()

    server = KeyServer()
    keys = bot_tokens.KeySource(server.config_url)
    now = int(time.time())
    tokens = [server.sign({"iss": ISSUER, "aud": "bench-bot", "tid": "bench-tenant",
                           "iat": now, "nbf": now, "exp": now + 3600, "n": i})
              for i in range(args.tokens)]
    check = {"audience": "bench-bot", "tenant": "bench-tenant", "keys": keys,
             "issuers": [ISSUER, "https://graph.microsoft.com"], "leeway": 60}
    bot_tokens.verify(tokens[0], **check)  # the one fetch, not timed
    times, cpu = [], []
    wall, thread = time.perf_counter_ns, time.thread_time_ns
    for token in tokens:
        header = f"Bearer {token}"
        start, start_cpu = wall(), thread()
        bot_tokens.verify(bot_tokens.bearer_token(header), **check)
        cpu.append((thread() - start_cpu) / 1000)
        times.append((wall() - start) / 1000)
    assert keys.fetches == 1, keys.fetches
    print(f"verify() of {len(tokens)} tokens, RS256 2048-bit, keys cached "
          f"(PyJWT {jwt.__version__}), load average {os.getloadavg()[0]:.2f}")
    for name, values in (("wall", times), ("CPU", cpu)):
        print(f"{name:5s} per request   median {statistics.median(values):7.1f} us   "
              f"p99 {percentile(values, 0.99):8.1f} us   mean {statistics.fmean(values):7.1f} us"
              f"   max {max(values):9.1f} us")


if __name__ == "__main__":
    main()
