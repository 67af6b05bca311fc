"""An HTTP proxy on 127.0.0.1 that forwards to an emulator and injects faults.

Faults happen below the SDK, on the wire, so a test through this proxy proves
that a store maps the SDK's real exceptions to `TransientStoreError` and that
retries and ambiguous-commit recovery work with them.
"""

from __future__ import annotations

import contextlib
import enum
import http.client
import socket
import struct
import threading
from collections.abc import Callable, Collection, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class WireFault(enum.Enum):
    """What the proxy does instead of relaying a request faithfully."""

    UNAVAILABLE = "503"  # answer 503 without forwarding
    RESET = "reset"  # reset the connection without forwarding
    DROP_AFTER = "drop-after"  # forward, let the server apply, then reset


WireHandler = Callable[[str, str, int], "WireFault | None"]
"""Given (method, path, request number), the fault to inject or None."""

HeaderFilter = Callable[[str, str], Collection[str]]
"""Given (method, path), the request headers (lower case) to drop before forwarding.

A server behind a proxy dropping `If-Match` behaves like one that ignores it.
"""


def no_faults(method: str, path: str, n: int) -> WireFault | None:
    """A `WireHandler` that relays every request faithfully."""
    return None


class FaultProxy:
    """A threaded HTTP/1.1 proxy to `upstream`, consulting `handler` per request."""

    def __init__(
        self,
        upstream: str,
        handler: WireHandler,
        *,
        drop_headers: HeaderFilter | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.handler = handler
        self.drop_headers = drop_headers
        self.dropped: list[tuple[str, str, str]] = []
        self._count = 0
        self._lock = threading.Lock()
        self.injected: list[tuple[WireFault, str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The proxy's base URL, to give the SDK as its endpoint."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _decide(self, method: str, path: str) -> WireFault | None:
        with self._lock:
            n = self._count
            self._count += 1
        fault = self.handler(method, path, n)
        if fault is not None:
            with self._lock:
                self.injected.append((fault, method, path))
        return fault

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Stay quiet: tests read the injected list instead."""

            def _reset(self) -> None:
                # SO_LINGER 0 makes close() send RST: the client sees a reset.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._decide(self.command, self.path)
                if fault is WireFault.RESET:
                    self._reset()
                    return
                if fault is WireFault.UNAVAILABLE:
                    payload = b'{"error": {"code": 503, "message": "injected"}}'
                    self.send_response(503)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                dropped = {"connection"}
                if proxy.drop_headers is not None:
                    dropped.update(proxy.drop_headers(self.command, self.path))
                headers = {}
                for name, value in self.headers.items():
                    if name.lower() not in dropped:
                        headers[name] = value
                    elif name.lower() != "connection":
                        proxy.dropped.append((self.command, self.path, name.lower()))
                status, response_headers, payload = proxy._forward(
                    self.command, self.path, headers, body
                )
                if fault is WireFault.DROP_AFTER:
                    self._reset()
                    return
                self.send_response(status)
                for name, value in response_headers:
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._relay()

            def do_HEAD(self) -> None:
                self._relay()

            def do_POST(self) -> None:
                self._relay()

            def do_PUT(self) -> None:
                self._relay()

            def do_PATCH(self) -> None:
                self._relay()

            def do_DELETE(self) -> None:
                self._relay()

            def finish(self) -> None:
                with contextlib.suppress(OSError):  # a connection reset on purpose
                    super().finish()

        return Handler


class Wire:
    """Every request a store sends, seen by a relaying proxy (no fault)."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[tuple[str, str]] = []
        self.proxy = FaultProxy(upstream, self._record)

    def _record(self, method: str, path: str, n: int) -> WireFault | None:
        del n
        self.requests.append((method, path))
        return None

    def methods(self) -> list[str]:
        """The methods sent since the last call, then forget them."""
        seen = [method for method, _ in self.requests]
        self.requests.clear()
        return seen


class _ErrorAnswer(BaseHTTPRequestHandler):
    """Answers every PUT with the server's status and XML error code."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        del format, args

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, code = self.server.answer  # type: ignore[attr-defined]
        body = f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
        self.send_response(status)
        self.send_header("x-ms-error-code", code)  # where Azure also says it
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def error_server(status: int, code: str) -> Iterator[str]:
    """A server on 127.0.0.1 answering every PUT `status` with error `code`; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ErrorAnswer)
    server.answer = (status, code)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
