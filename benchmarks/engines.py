"""Client CPU and wall time per request: the SDKs vs obstore, raw and under cloudmap.

    python benchmarks/engines.py [--quick] [--runs 3] [--provider s3|azure|all]
                                 [--json out.json]

Starts moto's server and Azurite itself (no latency proxy: the client's own
cost is what is measured). For each provider and each of the raw SDK (boto3,
azure-storage-blob), raw obstore, cloudmap on the SDK and cloudmap on obstore
(benchmarks/engines_azure.py holds Azure's) it runs set (create), get, set
(replace), list (whole pages), get_many, set_many and delete over the same
keys, and prints per request the process CPU time (`time.process_time`, every
thread of this process; the emulators run in their own) and the wall time,
medians over `--runs` runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import engines_azure
from benchmarks.targets import _start_moto
from cloudmap import CloudMapping
from cloudmap.stores import Store
from cloudmap.stores.s3 import S3Store

CREDS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
OPS = ("set", "get", "replace", "list", "get_many", "set_many", "delete")
WORKERS = 16


class Raw:
    """The same conditional requests, straight through one SDK."""

    def __init__(self, engine: str, endpoint: str, bucket: str) -> None:
        self.bucket = bucket
        if engine == "boto3":
            self.store = S3Store(bucket, endpoint_url=endpoint, **CREDS)
            self.client = self.store.client
        else:
            from obstore.store import S3Store as ObstoreS3Store  # noqa: PLC0415

            self.client = ObstoreS3Store(
                bucket,
                endpoint=endpoint,
                region="us-east-1",
                access_key_id="testing",
                secret_access_key="testing",  # noqa: S106 - moto accepts any
                virtual_hosted_style_request=False,
                client_options={"allow_http": True},
                retry_config={"max_retries": 0},
            )
        self.engine = engine
        self.etags: dict[str, str] = {}

    def set(self, key: str, data: bytes) -> None:
        held = self.etags.get(key)
        if self.engine == "boto3":
            cond = {"IfMatch": held} if held else {"IfNoneMatch": "*"}
            out = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **cond)
            self.etags[key] = out["ETag"]
        else:
            import obstore  # noqa: PLC0415

            mode: Any = {"e_tag": held} if held else "create"
            result = obstore.put(self.client, key, data, mode=mode)
            self.etags[key] = result["e_tag"]

    def get(self, key: str) -> bytes:
        if self.engine == "boto3":
            out = self.client.get_object(
                Bucket=self.bucket, Key=key, IfMatch=self.etags[key]
            )
            return bytes(out["Body"].read())
        import obstore  # noqa: PLC0415

        result = obstore.get(self.client, key, options={"if_match": self.etags[key]})
        return bytes(result.bytes())

    def delete(self, key: str) -> None:
        etag = self.etags.pop(key)
        if self.engine == "boto3":
            self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        else:  # obstore's delete takes no condition: raw obstore cannot match it
            import obstore  # noqa: PLC0415

            obstore.delete(self.client, key)

    def list(self) -> int:
        if self.engine == "boto3":
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket
            )
            return sum(len(page.get("Contents", ())) for page in pages)
        import obstore  # noqa: PLC0415

        return sum(len(page) for page in obstore.list(self.client, chunk_size=1000))

    def get_many(self, keys: list[str]) -> None:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(self.get, keys))

    def set_many(self, items: dict[str, bytes]) -> None:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda kv: self.set(*kv), items.items()))


class Ours:
    """A CloudMapping[bytes] over a store on one engine."""

    def __init__(self, store: Store) -> None:
        self.m: CloudMapping[bytes] = CloudMapping(store, max_workers=WORKERS)

    def set(self, key: str, data: bytes) -> None:
        self.m[key] = data

    def get(self, key: str) -> bytes:
        return self.m[key]

    def delete(self, key: str) -> None:
        del self.m[key]

    def list(self) -> int:
        self.m.sync_with_cloud()
        return len(self.m)

    def get_many(self, keys: list[str]) -> None:
        self.m.get_many(keys)

    def set_many(self, items: dict[str, bytes]) -> None:
        self.m.set_many(items)

    def close(self) -> None:
        self.m.close()


def _measure(fn: Callable[[], object], requests: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / requests * 1000, wall / requests * 1000


def run_once(
    impl: Any, n: int, lists: int, *, page: int = 1000
) -> dict[str, tuple[float, float]]:
    """Per-request (CPU ms, wall ms) of each operation over `n` 1 KiB values."""
    keys = [f"k{i:05}" for i in range(n)]
    value = b"x" * 1024
    pages = lists * -(-n // page)
    out = {
        "set": _measure(lambda: [impl.set(k, value) for k in keys], n),
        "get": _measure(lambda: [impl.get(k) for k in keys], n),
        "replace": _measure(lambda: [impl.set(k, value) for k in keys], n),
        "list": _measure(lambda: [impl.list() for _ in range(lists)], pages),
        "get_many": _measure(lambda: impl.get_many(keys), n),
        "set_many": _measure(lambda: impl.set_many(dict.fromkeys(keys, value)), n),
        "delete": _measure(lambda: [impl.delete(k) for k in keys], n),
    }
    if isinstance(impl, Raw) and impl.engine == "boto3":
        impl.store.close()
    elif hasattr(impl, "close"):
        impl.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every implementation `--runs` times and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="100 keys, not 300")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--provider", choices=["s3", "azure", "all"], default="all")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    n, lists = (100, 10) if args.quick else (300, 20)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as workdir:
        if args.provider in {"s3", "all"}:
            proc, port = _start_moto(Path(workdir))
            endpoint = f"http://127.0.0.1:{port}"
            try:
                place = functools.partial(_new_bucket, endpoint)
                results["s3"] = _run_all(IMPLS, place, n, lists, args.runs)
            finally:
                proc.kill()
                proc.wait()
            print(table(results["s3"], n))
        if args.provider in {"azure", "all"}:
            place, stop = engines_azure.start_azurite(Path(workdir))
            try:
                results["azure"] = _run_all(
                    AZURE_IMPLS, place, n, lists, args.runs, page=engines_azure.PAGE
                )
            finally:
                stop()
            print(table(results["azure"], n, sdk="sdk", page=engines_azure.PAGE))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


IMPLS: dict[str, Callable[[str, str], Any]] = {
    "raw boto3": lambda ep, b: Raw("boto3", ep, b),
    "raw obstore": lambda ep, b: Raw("obstore", ep, b),
    "cloudmap boto3": lambda ep, b: Ours(S3Store(b, endpoint_url=ep, **CREDS)),
    "cloudmap obstore": lambda ep, b: Ours(
        S3Store(b, endpoint_url=ep, engine="obstore", **CREDS)
    ),
}
AZURE_IMPLS = engines_azure.implementations(Ours)


def _run_all(
    impls: dict[str, Callable[[str, str], Any]],
    place: Callable[[], tuple[str, str]],
    n: int,
    lists: int,
    runs: int,
    *,
    page: int = 1000,
) -> dict[str, Any]:
    """Medians of `runs` runs of each implementation, each on a fresh `place()`."""
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {op: [] for op in OPS} for name in impls
    }
    for _ in range(runs):
        for name, make in impls.items():
            figures = run_once(make(*place()), n, lists, page=page)
            for op, values in figures.items():
                samples[name][op].append(values)
    return {
        name: {
            op: {
                "cpu_ms": statistics.median(cpu for cpu, _ in values),
                "wall_ms": statistics.median(wall for _, wall in values),
            }
            for op, values in ops.items()
        }
        for name, ops in samples.items()
    }


def _new_bucket(endpoint: str) -> tuple[str, str]:
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    S3Store(bucket, endpoint_url=endpoint, create=True, **CREDS).close()
    return endpoint, bucket


def table(
    results: dict[str, Any], n: int, *, sdk: str = "boto3", page: int = 1000
) -> str:
    """The medians as a text table, then cloudmap-on-obstore's CPU ratios."""
    keys = min(n, page)
    lines = [
        (
            f"client CPU / wall per request in ms ({n} keys of 1 KiB; "
            f"list: per page of {keys} keys)"
        ),
        f"{'op':<10}" + "".join(f"{name:>22}" for name in results),
    ]
    for op in OPS:
        cells = "".join(
            f"{r[op]['cpu_ms']:>11.3f} /{r[op]['wall_ms']:>8.3f}"
            for r in results.values()
        )
        lines.append(f"{op:<10}{cells}")
    fast, raw, slow = (
        results["cloudmap obstore"],
        results["raw obstore"],
        results[f"cloudmap {sdk}"],
    )
    lines.append("")
    lines.append(f"{'op':<10}{'ours/raw obstore CPU':>24}{f'{sdk}/obstore CPU':>20}")
    for op in OPS:
        ratio_raw = fast[op]["cpu_ms"] / raw[op]["cpu_ms"]
        ratio_slow = slow[op]["cpu_ms"] / fast[op]["cpu_ms"]
        lines.append(f"{op:<10}{ratio_raw:>23.2f}x{ratio_slow:>19.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
