"""Bulk-copy throughput: one process vs a 2-worker dask LocalCluster.

    python benchmarks/dask_copy.py [--keys 5000] [--latency-ms 20] [--workers 8]
                                   [--json out.json] [--quick]

Copies `--keys` 1 KB values from a local directory to (a) another local
directory and (b) moto's S3 server behind a proxy adding `--latency-ms` per
request, first with `copy_keys` in this process (`--workers` threads), then
with `copy_keys(client=...)` on a LocalCluster of 2 worker processes (each
task also on `--workers` threads). Prints keys per second for each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distributed import Client, LocalCluster

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.targets import _start_moto
from cloudmap.stores import LocalStore
from cloudmap.targets import open_store
from cloudmap.transfer import copy_keys


def _fill(root: Path, n: int) -> None:
    store = LocalStore(root, fsync=False)
    for i in range(n):
        store.put(f"k/{i:06d}", os.urandom(1024))


def _time_copy(source: str, destination: str, n: int, **options: Any) -> float:
    """Keys per second of one full copy into an empty destination."""
    start = time.perf_counter()
    if options.get("client") is None:
        src, src_prefix = open_store(source)
        dst, dst_prefix = open_store(destination, create=True)
        with src, dst:
            report = copy_keys(
                src,
                dst,
                source_prefix=src_prefix,
                destination_prefix=dst_prefix,
                **options,
            )
    else:
        report = copy_keys(source, destination, **options)
    seconds = time.perf_counter() - start
    if report.failed or len(report.copied) != n:
        msg = f"copy to {destination} incomplete: {report.as_dict()}"
        raise RuntimeError(msg)
    return n / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="500 keys")
    args = parser.parse_args(argv)
    n = 500 if args.quick else args.keys
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _fill(work / "src", n)
        source = f"file://{work / 'src'}?fsync=false"
        proc, port = _start_moto(work)
        proxy = LatencyProxy("127.0.0.1", port, args.latency_ms / 1000)
        os.environ.update(BENCH_MOTO_KEY="testing")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3 = (
            f"s3://{bucket}/{{run}}?endpoint={proxy.url}&region=us-east-1"
            "&access_key=$BENCH_MOTO_KEY&secret_key=$BENCH_MOTO_KEY"
        )
        open_store(s3.format(run="x"), create=True)[0].close()
        try:
            with (
                LocalCluster(
                    n_workers=2,
                    threads_per_worker=2,
                    host="127.0.0.1",
                    scheduler_port=0,
                    dashboard_address="127.0.0.1:0",
                ) as cluster,
                Client(cluster) as client,
            ):
                for where, make in (
                    ("local dir", lambda run: f"file://{work / run}?fsync=false"),
                    (f"S3 +{args.latency_ms:g} ms", lambda run: s3.format(run=run)),
                ):
                    one = _time_copy(
                        source, make("one"), n, workers=args.workers, client=None
                    )
                    two = _time_copy(
                        source,
                        make("two"),
                        n,
                        workers=args.workers,
                        client=client,
                        partition_size=max(1, n // 8),
                    )
                    rows.append(
                        {
                            "destination": where,
                            "keys": n,
                            "one_process_keys_per_s": round(one),
                            "cluster_2_workers_keys_per_s": round(two),
                            "speedup": round(two / one, 2),
                        }
                    )
        finally:
            proxy.close()
            proc.kill()
    print(
        f"{'destination':<14} {'keys':>6} {'1 process':>10} {'2 workers':>10} speedup"
    )
    for row in rows:
        one, two = row["one_process_keys_per_s"], row["cluster_2_workers_keys_per_s"]
        print(
            f"{row['destination']:<14} {row['keys']:>6} {one:>8}/s {two:>8}/s "
            f"{row['speedup']:>6}x"
        )
    cpus = os.cpu_count()
    print(f"(copy workers={args.workers} threads per process or task; {cpus} CPUs)")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
