"""Config watch: a worker reacts when another process changes a config key.

Run: python examples/config_watch.py [TARGET]
TARGET is a directory or a URL (s3://bucket/prefix, az://..., gs://...); it
defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary directory.

The worker polls with `m.watch()`: one listing per poll, compared with the etags
it holds, so it sees what others changed and never its own writes. On stopping
it saves its etags as JSON; restarted from them, it sees what changed while it
was down.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from cloudmap import CloudMapping, codecs
from cloudmap.targets import open_store


def open_mapping(target: str, run: str, **kwargs: Any) -> CloudMapping[Any]:
    store, prefix = open_store(target, create=True)
    return CloudMapping(
        store, codec=codecs.json(), key_prefix=f"{prefix}{run}/", **kwargs
    )


def worker(
    target: str, run: str, stop: threading.Event, seen: queue.Queue[Any], saved: Path
) -> None:
    """Apply every new config version; on stop, save the etags held."""
    with open_mapping(target, run) as m:
        seen.put(("started", m["config"]["version"]))
        for batch in m.watch(interval=0.05, stop=stop, prefix="config"):
            for kind, key in batch:
                if key == "config" and kind != "deleted":
                    seen.put(("reloaded", m["config"]["version"]))
        saved.write_text(json.dumps(dict(m.etags)))


def main(target: str, state_dir: Path) -> None:
    run = uuid.uuid4().hex[:8]
    saved = state_dir / f"etags-{run}.json"
    admin = open_mapping(target, run)
    admin["config"] = {"version": 1, "batch_size": 100}
    stop = threading.Event()
    seen: queue.Queue[Any] = queue.Queue()
    thread = threading.Thread(target=worker, args=(target, run, stop, seen, saved))
    thread.start()
    assert seen.get(timeout=60) == ("started", 1)
    admin["config"] = {"version": 2, "batch_size": 500}
    assert seen.get(timeout=60) == ("reloaded", 2)
    print("worker reloaded config: version 2")
    stop.set()
    thread.join()

    admin["config"] = {"version": 3, "batch_size": 50}  # while the worker is down
    with open_mapping(target, run, sync_initially=False) as restarted:
        restarted.restore_etags(json.loads(saved.read_text()))
        changed = restarted.changes()
        assert changed.modified == {"config"}, changed
        print(f"restarted worker saw config version {restarted['config']['version']}")
    admin.close()
    print("the worker saw every change made by others, even while it was down")


if __name__ == "__main__":
    chosen = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOUDMAP_EXAMPLE_TARGET")
    )
    with tempfile.TemporaryDirectory() as tmp:
        main(chosen or tmp, Path(tmp))
