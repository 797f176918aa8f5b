"""What verifying Graph's notification token costs the webhook per request.

    python bench/notification_auth.py [--tokens 5000]

Signs `--tokens` distinct tokens (RS256, 2048-bit key, the claims Graph sends) and times
`providers.bot_tokens.bearer_token` + `verify` on each with the keys already cached (the
steady state: one JWKS fetch per process, then none until a new key id), and prints the
median, p99 and mean per request in microseconds. The JWKS is served over real HTTP from
a thread (tests/bot_keys.py), fetched once before timing. No Django, no database.
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
    times = []
    clock = time.perf_counter_ns
    for token in tokens:
        header = f"Bearer {token}"
        start = clock()
        bot_tokens.verify(bot_tokens.bearer_token(header), **check)
        times.append((clock() - start) / 1000)
    assert keys.fetches == 1, keys.fetches
    print(f"verify() of {len(tokens)} tokens, RS256 2048-bit, keys cached "
          f"(PyJWT {jwt.__version__})")
    print(f"per request   median {statistics.median(times):7.1f} us   "
          f"p99 {percentile(times, 0.99):7.1f} us   mean {statistics.fmean(times):7.1f} us   "
          f"max {max(times):8.1f} us")


if __name__ == "__main__":
    main()
