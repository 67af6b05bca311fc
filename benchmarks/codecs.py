"""Compare the compressors (and the cost of encryption) on a few kinds of values.

    python benchmarks/codecs.py [--quick] [--json out.json]

For each value kind and codec: the compression ratio (original / stored size)
and the encode and decode speed in MB/s of original bytes, best of a few
repeats. Runs in one process, on the CPU only: no store is involved.
"""

from __future__ import annotations

import argparse
import json as stdlib_json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudmap import codecs
from cloudmap.codecs import Codec

MB = 1024 * 1024
# A small vocabulary, so the text compresses about as well as prose does.
WORDS = (  # noqa: SIM905 - a list literal of 52 words reads worse
    "the of and to in is that it was for on are as with his they at be this "
    "from have or by one had not but what all were when we there can an your "
    "which their said if do will each about how up out them then she many some"
).split()


def values(size: int) -> dict[str, bytes]:
    """The value kinds, each about `size` bytes, from a fixed seed."""
    rng = random.Random(1)
    records = [
        {
            "id": i,
            "name": f"user-{rng.randrange(10**6)}",
            "score": round(rng.random() * 100, 3),
            "tags": rng.sample(WORDS, 3),
            "active": rng.random() < 0.5,
        }
        for i in range(size // 90)
    ]
    text = " ".join(rng.choice(WORDS) for _ in range(size // 4))
    return {
        # What benchmarks/run.py stores: one repeated byte.
        "run.py value (b'x' * n)": b"x" * size,
        "JSON records": stdlib_json.dumps(records).encode()[:size],
        "English-like text": text.encode()[:size],
        "random bytes": os.urandom(size),
    }


def chains(quick: bool) -> dict[str, Codec]:
    """The codecs compared; all decode the bytes the same way at any level."""
    found = {
        "zlib(1)": codecs.zlib(1),
        "zlib(6)": codecs.zlib(6),
        "zlib(9)": codecs.zlib(9),
        "zstd(1)": codecs.zstd(1),
        "zstd(3)": codecs.zstd(3),
        "zstd(9)": codecs.zstd(9),
        "zstd(19)": codecs.zstd(19),
        "aes256gcm": codecs.encrypted({"bench": os.urandom(32)}),
    }
    if quick:
        for slow in ("zlib(1)", "zstd(9)", "zstd(19)"):
            del found[slow]
    return found


def _best(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(codec: Codec, data: bytes, repeats: int) -> dict[str, float]:
    """Ratio and encode/decode MB/s of `codec` on `data`."""
    stored = codec.dumps(data, key="k")
    assert codec.loads(stored, key="k") == data
    encode = _best(lambda: codec.dumps(data, key="k"), repeats)
    decode = _best(lambda: codec.loads(stored, key="k"), repeats)
    return {
        "ratio": len(data) / len(stored),
        "encode_mb_s": len(data) / MB / encode,
        "decode_mb_s": len(data) / MB / decode,
    }


def _speed(mb_s: float) -> str:
    return f"{mb_s:.1f}" if mb_s < 10 else f"{mb_s:.0f}"


def main(argv: list[str] | None = None) -> int:
    """Run every codec on every value kind, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 KiB values, seconds")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    size, repeats = (256 * 1024, 3) if args.quick else (4 * MB, 5)
    rows = []
    print(f"codec benchmark: {size // 1024} KiB values, best of {repeats}")
    print("| value | codec | ratio | encode MB/s | decode MB/s |")
    print("|---|---|---:|---:|---:|")
    for kind, data in values(size).items():
        for name, codec in chains(args.quick).items():
            row = {"value": kind, "codec": name, **measure(codec, data, repeats)}
            rows.append(row)
            print(
                f"| {kind} | {name} | {row['ratio']:.2f} | "
                f"{_speed(row['encode_mb_s'])} | {_speed(row['decode_mb_s'])} |"
            )
    if args.json is not None:
        args.json.write_text(
            stdlib_json.dumps(
                {
                    "size": size,
                    "repeats": repeats,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "results": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
