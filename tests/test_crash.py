"""A process killed with SIGKILL in the middle of a write never leaves a torn value.

Each round spawns a process that writes a large value over the previous one
through a CloudMapping on a LocalStore; the parent kills it at a random moment
within the time a write takes. The key must then hold the old value or the new
one, the listing must show no temporary file, and the store must keep working.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path

from cloudmap import CloudMapping
from cloudmap.stores import LocalStore
from tests.scale import Scale

SIZE = 8 * 1024 * 1024
KEY = "big/value"


def value(version: int) -> bytes:
    """A large value that differs from its neighbours in every byte."""
    return bytes([version % 251]) * SIZE


def write_value(root: str, version: int, conn: Connection) -> None:
    """Child process: say when the write starts, then write `version`."""
    with CloudMapping[bytes](LocalStore(root)) as m:
        conn.send("writing")
        m[KEY] = value(version)
        conn.send("written")
    conn.close()


def timed_write(root: Path, version: int) -> float:
    with CloudMapping[bytes](LocalStore(root)) as m:
        start = time.monotonic()
        m[KEY] = value(version)
        return time.monotonic() - start


def test_sigkill_mid_write_leaves_old_or_new_value(
    tmp_path: Path, scale: Scale, record_property: object
) -> None:
    """After SIGKILL mid-write the key holds the old or the new value, never a mix."""
    ctx = multiprocessing.get_context("spawn")
    root = tmp_path / "store"
    rng = random.Random(20240607)
    write_seconds = timed_write(root, 0)
    version = 0
    outcomes = {"old": 0, "new": 0}
    for _ in range(scale.crash_rounds):
        new_version = version + 1
        parent, child = ctx.Pipe()
        process = ctx.Process(target=write_value, args=(str(root), new_version, child))
        process.start()
        child.close()
        assert parent.poll(60), "the writer never started"
        assert parent.recv() == "writing"
        time.sleep(rng.uniform(0, 1.5 * write_seconds))
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join(60)
        parent.close()
        process.close()

        store = LocalStore(root)
        listed = list(store.list())
        assert [item.key for item in listed] == [KEY], "a temporary file is visible"
        entry = store.get(KEY)
        assert entry is not None
        assert entry.etag == listed[0].etag
        if entry.data == value(new_version):
            outcomes["new"] += 1
            version = new_version
        else:
            assert entry.data == value(version), "the value is torn"
            outcomes["old"] += 1
        # Temp files of the dead writer are removed when a store is opened.
        assert list((root / ".cloudmap" / "tmp").iterdir()) == []

    # The store keeps working: a conditional write on the surviving etag succeeds.
    with CloudMapping[bytes](LocalStore(root)) as m:
        assert m[KEY] == value(version)
        m[KEY] = b"after the crashes"
        assert m[KEY] == b"after the crashes"
    record_property("crash_rounds", scale.crash_rounds)  # type: ignore[operator]
    record_property("killed_before_commit", outcomes["old"])  # type: ignore[operator]
    record_property("killed_after_commit", outcomes["new"])  # type: ignore[operator]
    record_property("write_seconds", round(write_seconds, 3))  # type: ignore[operator]
    if scale.crash_rounds >= 20:
        # Kills spread over a write's duration must hit both sides of the commit,
        # or the test is not exercising a write in flight.
        assert outcomes["old"] > 0, outcomes
