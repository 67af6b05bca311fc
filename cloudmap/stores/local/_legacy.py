"""LocalStore folders written before the index: per-key sidecars under `.cloudmap/meta`.

A writable open migrates them into the index once; a read-only open reads
them in place, as a frozen snapshot. Neither follows a symlink in the tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat as _stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cloudmap.stores.local._identity import Found
from cloudmap.stores.local._index import Row
from cloudmap.stores.local._names import key_problem

__all__ = ["StaticIndex", "load_sidecars", "remove_legacy"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def load_sidecars(system_fd: int) -> dict[str, Row] | None:
    """The rows the old layout recorded; None when the folder has no sidecars."""
    try:
        meta_fd = os.open("meta", _DIR_FLAGS, dir_fd=system_fd)
    except OSError:
        return None
    rows: dict[str, Row] = {}
    for key, record in _records(meta_fd, ""):
        identity = record.get("identity")
        metadata = record.get("metadata")
        etag = record.get("etag")
        if (
            key_problem(key) is None
            and isinstance(etag, str)
            and isinstance(metadata, dict)
            and isinstance(identity, list)
            and len(identity) == 3  # noqa: PLR2004 - inode, size, mtime
            and all(isinstance(part, int) for part in identity)
        ):
            # The old layout recorded no ctime: -1 makes the row match on the rest.
            rows[key] = Row(etag, json.dumps(metadata), (*identity, -1))
    return rows


def _records(fd: int, base: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        with os.scandir(fd) as scan:
            entries = list(scan)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                    yield from _records(child, f"{base}{entry.name}/")
            elif entry.is_file(follow_symlinks=False) and entry.name.endswith(".json"):
                record = _read_json(fd, entry.name)
                if isinstance(record, dict):
                    yield base + entry.name.removesuffix(".json"), record
    finally:
        os.close(fd)


def _read_json(fd: int, name: str) -> object:
    try:
        file_fd = os.open(name, _FILE_FLAGS, dir_fd=fd)
    except OSError:
        return None
    with os.fdopen(file_fd, "rb") as file:
        if not _stat.S_ISREG(os.fstat(file_fd).st_mode):
            return None
        try:
            return json.loads(file.read())
        except ValueError:
            return None


def remove_legacy(system_dir: Path) -> None:
    """Delete the old sidecars and lock file once they are in the index."""
    meta = system_dir / "meta"
    try:
        mode = meta.lstat().st_mode
    except FileNotFoundError:
        mode = 0  # another process migrating the same folder removed it first
    if _stat.S_ISDIR(mode):
        # rmtree never follows a symlink inside the tree; the top was checked.
        # Errors are ignored: a concurrent migration may be deleting it too.
        shutil.rmtree(meta, ignore_errors=True)
    (system_dir / "lock").unlink(missing_ok=True)


class StaticIndex:
    """Rows held in memory: a read-only store's view of an old or absent index."""

    def __init__(self, rows: Mapping[str, Row]) -> None:
        self._rows = dict(rows)

    def get(self, key: str) -> Row | None:
        """The row of `key`, or None."""
        return self._rows.get(key)

    def known(self, prefix: str) -> dict[Found, str]:
        """Etag of every (key, *identity) recorded under `prefix`."""
        return {
            (key, *row.ident): row.etag  # type: ignore[misc]
            for key, row in self._rows.items()
            if key.startswith(prefix)
        }

    def rows(self, prefix: str) -> dict[str, Row]:
        """The row of every key starting with `prefix`."""
        return {key: row for key, row in self._rows.items() if key.startswith(prefix)}

    def close(self) -> None:
        """Nothing to release."""
