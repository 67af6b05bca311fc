"""Quickstart: a dict on a local directory that two workers share safely.

Run: python examples/quickstart.py [DIRECTORY]
With no directory, a temporary one is used and removed afterwards.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cloudmap import KeyExistsError, KeySyncError, LocalMapping


def main(root: Path) -> None:
    """Show writes, a conflict, an atomic create and an atomic update."""
    alice = LocalMapping.with_json(root)
    bob = LocalMapping.with_json(root)

    alice["config"] = {"workers": 4}
    print(f"alice wrote config = {alice['config']} (etag {alice.etags['config']})")

    bob.sync_with_cloud()
    bob["config"] = {"workers": 8}
    print(f"bob replaced config = {bob['config']}")

    try:
        alice["config"] = {"workers": 2}
    except KeySyncError as exc:
        print(f"alice's stale write was refused: {type(exc).__name__}")
    alice.sync_with_cloud("config")
    print(f"alice re-synced and now reads {alice['config']}")

    alice.create("leader", "alice")
    try:
        bob.create("leader", "bob")
    except KeyExistsError:
        bob.sync_with_cloud("leader")
        print(f"bob lost the election; leader = {bob['leader']!r}")

    for mapping in (alice, bob, alice):
        mapping.modify("runs", lambda n: n + 1, default=0)
    print(f"three atomic increments give runs = {alice['runs']}")
    print(f"keys stored under {root}: {sorted(alice)}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
