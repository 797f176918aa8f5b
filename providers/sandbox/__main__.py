"""Command line entry point: ``python -m providers.sandbox [--host H] [--port P]``.

Prints exactly one line, ``sandbox listening on http://HOST:PORT``, to stdout once
the socket is bound (``--port 0`` binds a free port), so that a parent process can
wait for that line and learn the port.  Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import sys

from .server import create_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m providers.sandbox",
        description="Local emulator of the Webex, UCWA and Microsoft Graph provider APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8025, help="port to bind; 0 = any free")
    parser.add_argument(
        "--log-requests", action="store_true", help="print one line per request to stderr"
    )
    args = parser.parse_args(argv)
    try:
        server = create_server(args.host, args.port, log_requests=args.log_requests)
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"sandbox listening on {server.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
