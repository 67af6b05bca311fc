"""LocalStore against its floor (plain files) and what shelve and sqlitedict users have.

    pip install sqlitedict          # this benchmark's own dependency, not cloudmap's
    python benchmarks/local.py [--quick] [--keys 2000] [--runs 3] [--json out.json]
                                [--dir FOLDER]

Every workload writes then reads the same keys (1 KB values) in a fresh
folder, in this one process; each rate is the median of `--runs` runs, and the
ratios against the plain-file floors come from the same run. `sync` compares
`CloudMapping.sync_with_cloud()` with a plain `os.scandir` walk that stats
every file. A missing sqlitedict is reported and its row left out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shelve
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudmap import CloudMapping
from cloudmap.stores import LocalStore

VALUE = os.urandom(1024)
Rates = dict[str, float]
Workload = Callable[[Path, list[str]], Rates]


def _timed(work: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def plain_files(*, fsync: bool) -> Workload:
    """Write a temp file (+ fsync) and os.replace it over the key; read it back."""

    def run(root: Path, keys: list[str]) -> Rates:
        tmp = root / "tmp"
        tmp.mkdir()

        def write() -> None:
            for key in keys:
                temp = tmp / key
                with temp.open("wb") as file:
                    file.write(VALUE)
                    if fsync:
                        file.flush()
                        os.fsync(file.fileno())
                temp.replace(root / key)

        def read() -> None:
            for key in keys:
                with (root / key).open("rb") as file:
                    file.read()

        return {"set": _timed(write, len(keys)), "get": _timed(read, len(keys))}

    return run


def sqlitedict_autocommit(root: Path, keys: list[str]) -> Rates:
    """sqlitedict with autocommit=True; the close, which waits for commits, is timed."""
    from sqlitedict import SqliteDict  # noqa: PLC0415 - optional, see the docstring

    def write() -> None:
        with SqliteDict(str(root / "db.sqlite"), autocommit=True) as db:
            for key in keys:
                db[key] = VALUE

    rates = {"set": _timed(write, len(keys))}
    with SqliteDict(str(root / "db.sqlite")) as db:
        rates["get"] = _timed(lambda: [db[key] for key in keys], len(keys))
    return rates


def shelve_dbm(root: Path, keys: list[str]) -> Rates:
    """stdlib shelve on dbm.sqlite3 when this Python has it, else dbm.dumb."""
    try:
        import dbm.sqlite3 as backend  # type: ignore[import-not-found] # noqa: PLC0415
    except ImportError:
        import dbm.dumb as backend  # noqa: PLC0415

    def write() -> None:
        with shelve.Shelf(backend.open(str(root / "shelf"), "c")) as db:
            for key in keys:
                db[key] = VALUE

    rates = {"set": _timed(write, len(keys))}
    with shelve.Shelf(backend.open(str(root / "shelf"), "r")) as db:
        rates["get"] = _timed(lambda: [db[key] for key in keys], len(keys))
    return rates


def cloudmap_local(*, fsync: bool, bulk: bool = False) -> Workload:
    """A CloudMapping over LocalStore: one key at a time, or set_many of all keys."""

    def run(root: Path, keys: list[str]) -> Rates:
        with CloudMapping[bytes](LocalStore(root / "store", fsync=fsync)) as m:
            if bulk:
                items = dict.fromkeys(keys, VALUE)
                return {"set": _timed(lambda: m.set_many(items), len(keys))}

            def write() -> None:
                for key in keys:
                    m[key] = VALUE

            rates = {"set": _timed(write, len(keys))}
            rates["get"] = _timed(lambda: [m[key] for key in keys], len(keys))
            return rates

    return run


def sync_vs_walk(root: Path, keys: list[str]) -> Rates:
    """Keys per second: sync_with_cloud() against an os.scandir walk with stat."""
    with CloudMapping[bytes](LocalStore(root / "store", fsync=False)) as m:
        m.set_many(dict.fromkeys(keys, VALUE))

    def walk(path: str) -> None:
        with os.scandir(path) as scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                else:
                    entry.stat(follow_symlinks=False)

    rates = {"walk": _timed(lambda: walk(str(root / "store")), len(keys))}
    with CloudMapping[bytes](LocalStore(root / "store"), sync_initially=False) as m:
        rates["sync"] = _timed(m.sync_with_cloud, len(keys))
    return rates


WORKLOADS: dict[str, Workload] = {
    "plain files, fsync": plain_files(fsync=True),
    "plain files, no fsync": plain_files(fsync=False),
    "sqlitedict, autocommit": sqlitedict_autocommit,
    "shelve": shelve_dbm,
    "cloudmap LocalStore": cloudmap_local(fsync=True),
    "cloudmap, fsync off": cloudmap_local(fsync=False),
    "cloudmap set_many": cloudmap_local(fsync=True, bulk=True),
    "sync_with_cloud vs walk": sync_vs_walk,
}


@contextlib.contextmanager
def _folder(parent: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cloudmap-bench-", dir=parent) as d:
        yield Path(d)


def measure(keys: int, runs: int, parent: Path | None = None) -> dict[str, Rates]:
    """The median rates of every workload that can run here."""
    names = [f"key-{i:06d}" for i in range(keys)]
    samples: dict[str, list[Rates]] = {}
    # Round-robin, so that a change in the machine's load hits every workload.
    for _ in range(runs):
        for label, workload in WORKLOADS.items():
            if label in samples and not samples[label]:
                continue  # could not run here
            try:
                with _folder(parent) as root:
                    samples.setdefault(label, []).append(workload(root, names))
            except ImportError as exc:
                samples[label] = []
                note = f"skipping {label}: {exc} (pip install sqlitedict)"
                print(note, file=sys.stderr)
    return {
        label: {op: statistics.median(s[op] for s in runs_) for op in runs_[0]}
        for label, runs_ in samples.items()
        if runs_
    }


def ratios(results: dict[str, Rates]) -> dict[str, float]:
    """The issue's targets, as ratios measured in this run."""
    floor = results["plain files, fsync"]
    floor_nofsync = results["plain files, no fsync"]
    ours = results["cloudmap LocalStore"]
    out = {
        "set / plain fsync (target >= 0.8)": ours["set"] / floor["set"],
        "set fsync off / plain no fsync (target >= 0.8)": results[
            "cloudmap, fsync off"
        ]["set"]
        / floor_nofsync["set"],
        "get / plain read (target >= 0.5)": ours["get"]
        / max(floor["get"], floor_nofsync["get"]),
        "sync_with_cloud time / walk time (target <= 2)": results[
            "sync_with_cloud vs walk"
        ]["walk"]
        / results["sync_with_cloud vs walk"]["sync"],
    }
    if "sqlitedict, autocommit" in results:
        out["set_many / sqlitedict autocommit (target > 1)"] = (
            results["cloudmap set_many"]["set"]
            / results["sqlitedict, autocommit"]["set"]
        )
    return out


def table(results: dict[str, Rates], found: dict[str, float]) -> str:
    """A Markdown table of the rates, then the ratios."""
    lines = ["| workload | set/s | get/s |", "|---|---:|---:|"]
    for label, rates in results.items():
        if label == "sync_with_cloud vs walk":
            continue
        cells = [f"{rates[op]:,.0f}" if op in rates else "" for op in ("set", "get")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    sync = results["sync_with_cloud vs walk"]
    lines += [
        "",
        (
            f"sync_with_cloud: {sync['sync']:,.0f} keys/s; "
            f"os.scandir walk with stat: {sync['walk']:,.0f} keys/s"
        ),
        "",
        "| ratio | value |",
        "|---|---:|",
        *(f"| {name} | {value:.2f} |" for name, value in found.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every workload; print the table and write JSON when asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 keys, 3 runs")
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--dir", type=Path, help="where to write (default: temp dir)")
    args = parser.parse_args(argv)
    keys = 500 if args.quick else args.keys
    results = measure(keys, args.runs, args.dir)
    found = ratios(results)
    print(table(results, found))
    report: dict[str, Any] = {
        "keys": keys,
        "runs": args.runs,
        "value_bytes": len(VALUE),
        "python": platform.python_version(),
        "results": results,
        "ratios": found,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    else:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
