"""Quickstart: a dict that two workers share safely, on a directory or a bucket.

Run: python examples/quickstart.py [TARGET]
TARGET is a directory or a URL (s3://bucket/prefix, az://..., gs://...); it
defaults to $CLOUDMAP_EXAMPLE_TARGET, else a temporary directory removed at the
end. Running it again on the same TARGET starts over: it first deletes the three
keys it writes (config, leader, runs) and nothing else.
"""

from __future__ import annotations

import os
import sys
import tempfile

from cloudmap import CloudMapping, KeyExistsError, KeySyncError, codecs
from cloudmap.targets import open_store

KEYS = ("config", "leader", "runs")


def open_mapping(target: str) -> CloudMapping[object]:
    """A JSON mapping over TARGET; a worker on another machine opens the same."""
    store, prefix = open_store(target, create=True)
    return CloudMapping(store, codec=codecs.json(), key_prefix=prefix)


def main(target: str) -> None:
    """Show writes, a conflict, an atomic create and an atomic update."""
    with open_mapping(target) as alice, open_mapping(target) as bob:
        for key in KEYS:  # a previous run's keys: start over
            alice.pop(key, None)
        bob.sync_with_cloud()

        alice["config"] = {"workers": 4}
        print(f"alice wrote config = {alice['config']} (etag {alice.etags['config']})")

        bob.sync_with_cloud()
        bob["config"] = {"workers": 8}
        print(f"bob replaced config = {bob['config']}")

        try:
            alice["config"] = {"workers": 2}
        except KeySyncError as exc:  # here an EtagMismatchError, a KeySyncError
            kind = type(exc).__name__
            print(f"alice's stale write was refused: {kind} (a KeySyncError)")
        alice.sync_with_cloud("config")
        print(f"alice re-synced and now reads {alice['config']}")

        alice.create("leader", "alice")
        try:
            bob.create("leader", "bob")
        except KeyExistsError:  # also a KeySyncError
            bob.sync_with_cloud("leader")
            print(f"bob lost the election; leader = {bob['leader']!r}")

        for mapping in (alice, bob, alice):
            mapping.modify("runs", lambda n: n + 1, default=0)
        print(f"three atomic increments give runs = {alice['runs']}")


if __name__ == "__main__":
    chosen = (
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOUDMAP_EXAMPLE_TARGET")
    )
    if chosen:
        main(chosen)
        print(f"keys {list(KEYS)} are stored in {chosen}; run again to start over")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
        print("done; the keys lived in a temporary directory, now removed")
