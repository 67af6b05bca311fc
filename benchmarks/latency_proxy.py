"""A TCP proxy on 127.0.0.1 that adds a round-trip delay and counts traffic.

Each time a client starts talking again after the server answered (a new
request on a kept-alive connection, or the first bytes of a new connection),
the proxy waits `latency` seconds before forwarding: one added round trip per
request/response exchange, like a distant server. It also counts those
exchanges (requests) and the bytes in each direction, for every client alike.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class Traffic:
    """Counters since the last `reset()`."""

    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class LatencyProxy:
    """Forward 127.0.0.1:<port> to `upstream`, adding `latency` per exchange."""

    def __init__(self, upstream_host: str, upstream_port: int, latency: float) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.latency = latency
        self._lock = threading.Lock()
        self._traffic = Traffic()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def traffic(self) -> Traffic:
        """A copy of the counters."""
        with self._lock:
            return Traffic(**vars(self._traffic))

    def reset(self) -> None:
        """Zero the counters."""
        with self._lock:
            self._traffic = Traffic()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # "up" is True while the client holds the turn; a new turn = a request.
        state = {"turn": "down"}
        done = threading.Event()
        threading.Thread(
            target=self._pump, args=(server, client, "down", state, done), daemon=True
        ).start()
        self._pump(client, server, "up", state, done)
        done.wait()
        client.close()
        server.close()

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        direction: str,
        state: dict[str, str],
        done: threading.Event,
    ) -> None:
        try:
            while True:
                chunk = src.recv(1 << 16)
                if not chunk:
                    break
                if direction == "up" and state["turn"] != "up":
                    with self._lock:
                        self._traffic.requests += 1
                    if self.latency:
                        time.sleep(self.latency)
                state["turn"] = direction
                with self._lock:
                    if direction == "up":
                        self._traffic.bytes_up += len(chunk)
                    else:
                        self._traffic.bytes_down += len(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            if direction == "down":
                done.set()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        self._listener.close()
