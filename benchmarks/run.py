"""Benchmark cloudmap against the raw SDK and cloud-mappings 2.1.0, per store.

    python benchmarks/run.py [--stores local,s3,azure,gcs] [--latency-ms 20]
                             [--runs 3] [--json out.json] [--quick]

Starts the emulators itself (moto's threaded server; Azurite and
fake-gcs-server through devtools/emulators/), puts a delaying proxy in front of
each, prints one table and writes the medians over `--runs` runs as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.targets import MAKERS, Target
from cloudmap import CloudMapping
from cloudmap.cache import CacheSpec

KB = 1024
MB = 1024 * KB
Row = dict[str, Any]


def _sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"ops_1k": 20, "ops_1m": 4, "bulk": 100, "sync": 500, "cached": 5}
    return {"ops_1k": 100, "ops_1m": 10, "bulk": 1000, "sync": 10_000, "cached": 20}


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(samples: list[float], fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    samples.append(time.perf_counter() - start)


def _row(target: Target, workload: str, impl: str, samples: list[float]) -> Row:
    return {
        "store": target.name,
        "workload": workload,
        "impl": impl,
        "n": len(samples),
        "p50_ms": _pct(samples, 0.5) * 1000,
        "p99_ms": _pct(samples, 0.99) * 1000,
        "ops_s": len(samples) / sum(samples) if sum(samples) else 0.0,
    }


def _traffic(target: Target) -> tuple[int, int]:
    if target.proxy is None:
        return 0, 0
    seen = target.proxy.traffic()
    return seen.requests, seen.bytes_down


def _reset(target: Target) -> None:
    if target.proxy is not None:
        target.proxy.reset()


def per_op(target: Target, size: int, n: int) -> list[Row]:
    """set (create), get, set (replace), delete, one key at a time."""
    label = "1KB" if size == KB else "1MB"
    value = b"x" * size
    rows: list[Row] = []
    impls: dict[str, Callable[[str], dict[str, list[float]]]] = {}

    def run_mapping(
        m: MutableMapping[str, bytes], prefix: str
    ) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"set": [], "get": [], "replace": [], "del": []}
        for i in range(n):
            key = f"{prefix}{i}"
            _timed(times["set"], lambda: m.__setitem__(key, value))  # noqa: B023
            _timed(times["get"], lambda: m[key])  # noqa: B023
            _timed(times["replace"], lambda: m.__setitem__(key, value))  # noqa: B023
            _timed(times["del"], lambda: m.__delitem__(key))  # noqa: B023
        return times

    def ours(prefix: str) -> dict[str, list[float]]:
        with CloudMapping(target.ours(), sync_initially=False) as m:
            return run_mapping(m, prefix)

    def raw(prefix: str) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"set": [], "get": [], "replace": [], "del": []}
        for i in range(n):
            key = f"{prefix}{i}"
            start = time.perf_counter()
            etag = target.raw.put(key, value, None)
            times["set"].append(time.perf_counter() - start)
            _timed(times["get"], lambda: target.raw.get(key, etag))  # noqa: B023
            start = time.perf_counter()
            etag = target.raw.put(key, value, etag)
            times["replace"].append(time.perf_counter() - start)
            _timed(times["del"], lambda: target.raw.delete(key, etag))  # noqa: B023
        return times

    impls = {"raw-sdk": raw, "cloudmap": ours}
    if target.peer is not None:
        peer = target.peer
        impls["cloud-mappings"] = lambda prefix: run_mapping(peer(), prefix)
    for impl, fn in impls.items():
        times = fn(f"op-{impl}-{label}-{uuid.uuid4().hex[:6]}-")
        rows += [_row(target, f"{op} {label}", impl, t) for op, t in times.items()]
    return rows


def bulk(target: Target, n: int) -> list[Row]:
    """set_many / get_many of n 1 KB values vs a raw thread pool vs a key loop."""
    rows: list[Row] = []
    value = b"b" * KB

    def record(workload: str, impl: str, seconds: float) -> None:
        row = _row(target, workload, impl, [seconds])
        row.update(n=n, ops_s=n / seconds, p50_ms=seconds * 1000, p99_ms=seconds * 1000)
        rows.append(row)

    prefix = f"bulk-raw-{uuid.uuid4().hex[:6]}-"
    keys = [f"{prefix}{i}" for i in range(n)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.perf_counter()
        etags = list(pool.map(lambda k: target.raw.put(k, value, None), keys))
        record("set_many", "raw-sdk", time.perf_counter() - start)
        start = time.perf_counter()
        list(pool.map(target.raw.get, keys, etags))
        record("get_many", "raw-sdk", time.perf_counter() - start)

    prefix = f"bulk-ours-{uuid.uuid4().hex[:6]}-"
    items = {f"{prefix}{i}": value for i in range(n)}
    with CloudMapping(target.ours(), sync_initially=False, max_workers=16) as m:
        start = time.perf_counter()
        m.set_many(items)
        record("set_many", "cloudmap", time.perf_counter() - start)
        start = time.perf_counter()
        m.get_many(items)
        record("get_many", "cloudmap", time.perf_counter() - start)

    if target.peer is not None:
        prefix = f"bulk-peer-{uuid.uuid4().hex[:6]}-"
        items = {f"{prefix}{i}": value for i in range(n)}
        peer = target.peer()
        start = time.perf_counter()
        peer.update(items)
        record("set_many", "cloud-mappings", time.perf_counter() - start)
        start = time.perf_counter()
        for key in items:
            peer[key]
        record("get_many", "cloud-mappings", time.perf_counter() - start)
    return rows


def sync(target: Target, n: int) -> list[Row]:
    """sync_with_cloud over n keys: time and requests (counted by the proxy)."""
    prefix = f"sync-{uuid.uuid4().hex[:6]}-"
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda i: target.raw.seed(f"{prefix}{i}", b"s"), range(n)))
    rows: list[Row] = []
    runs: dict[str, Callable[[], int]] = {}

    def ours() -> int:
        with CloudMapping(
            target.ours(), key_prefix=prefix, prefix_separator="", sync_initially=False
        ) as m:
            _reset(target)
            m.sync_with_cloud()
            return len(m)

    runs["cloudmap"] = ours
    if target.peer is not None:
        make_peer = target.peer

        def peer() -> int:
            mapping: Any = make_peer()
            _reset(target)
            mapping.sync_with_cloud(key_prefix=prefix)
            return len(mapping)

        runs["cloud-mappings"] = peer
    for impl, fn in runs.items():
        start = time.perf_counter()
        found = fn()
        seconds = time.perf_counter() - start
        requests, _ = _traffic(target)
        row = _row(target, f"sync {n} keys", impl, [seconds])
        row.update(n=found, ops_s=found / seconds, requests=requests)
        rows.append(row)
    return rows


def cached(target: Target, n: int) -> list[Row]:
    """Re-reading an unchanged 1 MB value: with and without the cache."""
    rows: list[Row] = []
    value = b"c" * MB
    for impl, cache in (("cloudmap", None), ("cloudmap+cache", CacheSpec())):
        with CloudMapping(
            target.ours(), sync_initially=False, cache=cache or False
        ) as m:
            key = f"cached-{uuid.uuid4().hex[:6]}"
            m[key] = value
            m[key]
            _reset(target)
            times: list[float] = []
            for _ in range(n):
                _timed(times, lambda: m[key])  # noqa: B023
            requests, down = _traffic(target)
            row = _row(target, "re-read 1MB", impl, times)
            row.update(requests=requests, bytes_down_per_read=down // n)
            rows.append(row)
    return rows


def run_once(
    names: list[str], latency: float, quick: bool, notes: list[str]
) -> list[Row]:
    """One pass over every store; returns a row per (store, workload, impl)."""
    sizes = _sizes(quick)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cloudmap-bench-") as tmp:
        for name in names:
            try:
                target = MAKERS[name](Path(tmp), latency)
            except Exception as exc:
                notes.append(f"{name}: skipped ({type(exc).__name__}: {exc})")
                continue
            if target.peer_note:
                notes.append(f"{name}: {target.peer_note}")
            try:
                rows += per_op(target, KB, sizes["ops_1k"])
                rows += per_op(target, MB, sizes["ops_1m"])
                rows += bulk(target, sizes["bulk"])
                rows += sync(target, sizes["sync"])
                rows += cached(target, sizes["cached"])
            except Exception as exc:
                notes.append(f"{name}: failed ({type(exc).__name__}: {exc})")
            finally:
                target.close()
    return rows


def median_rows(passes: list[list[Row]]) -> list[Row]:
    """Per (store, workload, impl), the median of each number over the passes."""
    grouped: dict[tuple[str, str, str], list[Row]] = {}
    for rows in passes:
        for row in rows:
            grouped.setdefault((row["store"], row["workload"], row["impl"]), []).append(
                row
            )
    out: list[Row] = []
    for (store, workload, impl), group in grouped.items():
        merged: Row = {"store": store, "workload": workload, "impl": impl}
        for field in group[0]:
            if field not in merged:
                merged[field] = statistics.median(row[field] for row in group)
        out.append(merged)
    return out


def add_ratios(rows: list[Row]) -> None:
    """Time ratio of each row to the raw SDK's (per-op: p50; bulk/sync: total)."""
    base = {(r["store"], r["workload"]): r for r in rows if r["impl"] == "raw-sdk"}
    ours = {(r["store"], r["workload"]): r for r in rows if r["impl"] == "cloudmap"}
    for row in rows:
        ref = base.get((row["store"], row["workload"]))
        if ref is not None and ref["p50_ms"]:
            row["x_raw"] = row["p50_ms"] / ref["p50_ms"]
        mine = ours.get((row["store"], row["workload"]))
        if mine is not None and row["impl"] != "cloudmap" and mine["p50_ms"]:
            row["x_cloudmap"] = row["p50_ms"] / mine["p50_ms"]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    head = (
        "| store | workload | impl | n | p50 ms | p99 ms | ops/s | x raw | "
        "requests | note |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        note = ""
        if "bytes_down_per_read" in r:
            note = f"{r['bytes_down_per_read']:,} B down/read"
        if "x_cloudmap" in r and r["impl"] == "cloud-mappings":
            note = f"{r['x_cloudmap']:.1f}x cloudmap's time"
        ratio = f"{r['x_raw']:.2f}" if "x_raw" in r else ""
        requests = f"{r['requests']:.0f}" if "requests" in r else ""
        lines.append(
            f"| {r['store']} | {r['workload']} | {r['impl']} | {r['n']:.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['ops_s']:.1f} | {ratio} | "
            f"{requests} | {note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="local,s3,azure,gcs")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.stores.split(",") if name.strip()]
    unknown = sorted(set(names) - set(MAKERS))
    if unknown:
        parser.error(f"unknown stores {unknown}; choose from {sorted(MAKERS)}")
    notes: list[str] = []
    passes = [
        run_once(names, args.latency_ms / 1000, args.quick, notes)
        for _ in range(args.runs)
    ]
    rows = median_rows(passes)
    add_ratios(rows)
    print(
        f"cloudmap benchmark: latency {args.latency_ms:g} ms added per request, "
        f"median of {args.runs} run(s){', quick sizes' if args.quick else ''}"
    )
    print(table(rows))
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "latency_ms": args.latency_ms,
                    "runs": args.runs,
                    "quick": args.quick,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "notes": list(dict.fromkeys(notes)),
                    "results": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
