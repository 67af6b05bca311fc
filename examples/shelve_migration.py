"""Migrate a stdlib shelve file to cloudmap, then use it with the same code.

Run: python examples/shelve_migration.py [TARGET]
TARGET (a directory or URL) defaults to $CLOUDMAP_EXAMPLE_TARGET, else a
temporary directory. The script first writes a small shelve file to migrate.
"""

from __future__ import annotations

import os
import shelve
import sys
import tempfile
from pathlib import Path

import cloudmap


def record_run(db: shelve.Shelf[object] | cloudmap.Shelf, run: str) -> None:
    """Code written for shelve; it works unchanged on a cloudmap shelf."""
    history = db.get("history", [])
    history.append(run)
    db["history"] = history


def main(workdir: Path, target: str) -> None:
    old_file = str(workdir / "legacy")
    with shelve.open(old_file) as old:
        old["config"] = {"workers": 4}
        record_run(old, "run-1")
        record_run(old, "run-2")

    with shelve.open(old_file, "r") as old, cloudmap.open(target, "n") as new:
        for key in old:
            new[key] = old[key]
        print(f"copied {len(new)} keys from {old_file} to {target}")

    with cloudmap.open(target) as db:
        record_run(db, "run-3")
    with cloudmap.open(target, "r") as db, shelve.open(old_file, "r") as old:
        print(f"history now {db['history']}")
        assert db["config"] == old["config"]
        assert db["history"] == [*old["history"], "run-3"]
    print("migration verified")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        chosen = (
            sys.argv[1]
            if len(sys.argv) > 1
            else os.environ.get("CLOUDMAP_EXAMPLE_TARGET", str(Path(tmp) / "migrated"))
        )
        main(Path(tmp), chosen)
