"""A fast smoke run of the benchmark harness (the benchmarks are not tests)."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from typing import TYPE_CHECKING

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.run import add_ratios, bulk, cached, median_rows, per_op, sync, table
from benchmarks.targets import local_target

if TYPE_CHECKING:
    from pathlib import Path


def test_local_workloads_produce_rows_with_ratios(tmp_path: Path) -> None:
    """Every workload runs on LocalStore and yields a table row with a raw ratio."""
    target = local_target(tmp_path, 0.0)
    try:
        rows = per_op(target, 1024, 2) + bulk(target, 5) + sync(target, 7)
        rows += cached(target, 2)
    finally:
        target.close()
    rows = median_rows([rows, rows])
    add_ratios(rows)
    by_key = {(r["workload"], r["impl"]): r for r in rows}
    assert by_key[("get 1KB", "cloudmap")]["x_raw"] > 0
    assert by_key[("set_many", "cloudmap")]["n"] == 5
    assert by_key[("sync 7 keys", "cloudmap")]["n"] == 7
    assert "| local | get_many | cloudmap | 5 |" in table(rows)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_latency_proxy_delays_and_counts_each_request() -> None:
    """Three requests on one kept-alive connection: three counted, each delayed."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = LatencyProxy("127.0.0.1", server.server_address[1], 0.05)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port)
    try:
        start = time.perf_counter()
        for _ in range(3):
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"hello"
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
        proxy.close()
        server.shutdown()
        server.server_close()
    seen = proxy.traffic()
    assert seen.requests == 3
    assert seen.bytes_down > 3 * len(b"hello")
    assert elapsed >= 0.15
