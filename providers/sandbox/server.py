"""HTTP plumbing: the threaded server, routing, and the provider request pipeline.

Every provider request goes through the same steps, in this order:

1. the provider names the org and person it addresses (``prepare``);
2. it is counted as in flight for that person (``/_sandbox/stats``);
3. a matching fault, if any, delays it and/or answers its error status;
4. the org's rate limit, if any, may answer 429 with ``Retry-After``;
5. the provider handles it;
6. it is written to the request log with its final status.

An unexpected exception becomes a provider-shaped 500 and a traceback on stderr,
never a traceback in the response.  Each response is written with one ``write``
and an exact ``Content-Length`` so that HTTP/1.1 keep-alive works and no response
waits on Nagle's algorithm.
"""

from __future__ import annotations

import socket
import sys
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .control import Control
from .graph import GraphProvider
from .identity_http import IdentityProvider
from .provider import Provider
from .state import SandboxState
from .ucwa import UcwaProvider
from .webex import WebexProvider
from .webex_settings import WebexSettingsProvider
from .wire import Request, Response

MAX_BODY_BYTES = 1024 * 1024


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops connections when a load test opens many
    # keep-alive connections at once.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: SandboxState | None = None,
        log_requests: bool = False,
    ) -> None:
        self.state = state or SandboxState()
        self.log_requests = log_requests
        self.control = Control(self.state)
        self.providers: list[Provider] = [
            WebexProvider(self.state),
            UcwaProvider(self.state),
            GraphProvider(self.state),
        ]
        # Asked first: their routes share the Webex and UCWA prefixes.
        self.identity = IdentityProvider(self.state)
        self.webex_settings = WebexSettingsProvider(self.state)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, SandboxHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        if ":" in host:  # IPv6 literals need brackets in URLs
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        # A client that hangs up mid-response is normal under load tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    # --- routing ------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        if req.path == "/_sandbox" or req.path.startswith(Control.prefix):
            try:
                return self.control.handle(req)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return Response(500, {"error": "internal sandbox error (see its stderr)"})
        if self.state.receivers.matches(req):
            return self.state.receivers.handle(req)
        for provider in (self.identity, self.webex_settings, *self.providers):
            if provider.matches(req):
                return self._serve_provider(provider, req)
        return Response(404, {"error": f"no route for {req.method} {req.path}"})

    def _serve_provider(self, provider: Provider, req: Request) -> Response:
        state = self.state
        try:
            with state.lock:
                provider.prepare(req)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        seq = state.begin_request(req.person_id)
        resp: Response | None = None
        try:
            fault = state.faults.take(req.org_id, req.person_id, req.path)
            if fault is not None:
                if fault.delay_ms:
                    time.sleep(fault.delay_ms / 1000)
                if fault.status is not None:
                    resp = provider.error(req, fault.status, f"Injected fault {fault.id}.")
                    if fault.retry_after is not None:
                        resp.headers["Retry-After"] = str(fault.retry_after)
            if resp is None:
                retry_after = state.limits.check(req.org_id)
                if retry_after is not None:
                    resp = provider.error(
                        req, 429, "Too many requests for this organization; retry later."
                    )
                    resp.headers["Retry-After"] = str(retry_after)
            if resp is None:
                resp = provider.handle(req)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            resp = provider.error(req, 500, "Internal sandbox error.")
        finally:
            state.end_request(
                seq,
                {
                    "seq": seq,
                    "provider": provider.name,
                    "method": req.method,
                    "path": req.path,
                    "query": req.flat_query(),
                    # Raw bytes (parsed when the log is read): a third of the
                    # memory of the parsed form, which matters at 100k entries.
                    "body": req.raw_body if req.has_body else None,
                    "status": resp.status if resp is not None else 500,
                    "orgId": req.org_id,
                    "personId": req.person_id,
                    "start": req.received_at,
                    "end": time.time(),
                },
            )
        try:
            provider.finalize(req, resp)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        return resp


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ProviderSandbox/1.0"
    disable_nagle_algorithm = True
    # Idle keep-alive connections each hold a thread; let them go eventually.
    timeout = 300
    server: SandboxServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except BodyError as exc:
            # The rest of the body is unread: the connection cannot be reused.
            self.close_connection = True
            self._write(Response(exc.status, {"error": exc.message}))
            return
        url = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=url.path or "/",
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=body,
        )
        try:
            resp = self.server.dispatch(req)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            resp = Response(500, {"error": "internal sandbox error (see its stderr)"})
        self._write(resp)
        if self.server.log_requests:
            sys.stderr.write(f"{req.method} {self.path} -> {resp.status}\n")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError:
            raise BodyError(400, "invalid Content-Length") from None
        if length < 0:
            raise BodyError(400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            raise BodyError(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "invalid chunked encoding") from None
            if size == 0:
                # Skip optional trailers up to the blank line.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # CRLF after each chunk

    def _write(self, resp: Response) -> None:
        payload = b"" if self.command == "HEAD" else resp.encode()
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = ""
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        if payload:
            lines.append(f"Content-Type: {resp.content_type}")
        lines.append(f"Content-Length: {len(payload)}")
        for name, value in resp.headers.items():
            lines.append(f"{name}: {value}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        # Used by BaseHTTPRequestHandler itself (bad request line, unsupported
        # method, ...): answer JSON like everything else and drop the connection,
        # since the request body (if any) was not consumed.
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        if not hasattr(self, "command"):
            self.command = ""
        self._write(Response(code, {"error": message or phrase}))

    def log_message(self, format: str, *args) -> None:  # noqa: A002, ANN002
        # Quiet by default: load runs would otherwise spend their time on stderr.
        pass


def create_server(
    host: str = "127.0.0.1", port: int = 8025, log_requests: bool = False
) -> SandboxServer:
    return SandboxServer((host, port), log_requests=log_requests)
