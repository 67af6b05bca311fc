"""The walk behind a LocalStore listing: every regular file under the root, sorted.

It reads each folder once with `os.scandir` and never follows a symlink. File
names are not checked here (a recorded key was checked when it was written);
the listing checks only the files the index does not record.
"""

from __future__ import annotations

import os

from cloudmap.stores.local._identity import Found
from cloudmap.stores.local._names import MAX_KEY_BYTES, SYSTEM_DIR, skip_key
from cloudmap.stores.local._tree import open_dir

__all__ = ["walk"]


def walk(root_fd: int, prefix: str, warned: set[str]) -> list[Found]:
    """(key, *identity) of each regular file whose key starts with `prefix`, sorted.

    Folders whose names are no valid key are skipped with one WARNING each;
    files are not checked (see `skip_key`).
    """
    found: list[Found] = []
    _walk(root_fd, "", prefix, warned, found)
    found.sort()
    return found


def _walk(
    fd: int,
    base: str,
    prefix: str,
    warned: set[str],
    found: list[Found],
) -> None:
    with os.scandir(fd) as scan:
        entries = list(scan)
    add = found.append
    room = MAX_KEY_BYTES - len(base.encode("utf-8", "surrogateescape"))
    for entry in entries:
        name = entry.name
        key = base + name
        if key == SYSTEM_DIR:
            continue
        if entry.is_file(follow_symlinks=False):
            # A file's name is checked by the caller, and only when the
            # index does not record it: a recorded key was checked before.
            if prefix and not key.startswith(prefix):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            add((key, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        elif entry.is_dir(follow_symlinks=False):
            if not (key.startswith(prefix) or prefix.startswith(key + "/")):
                continue
            if not _plain_name(name, room) and skip_key(key, warned):
                continue
            child = open_dir(fd, name, create=False)
            if child is not None:
                try:
                    _walk(child, key + "/", prefix, warned, found)
                finally:
                    os.close(child)


def _plain_name(name: str, room: int) -> bool:
    """Whether `name` is surely valid with `room` bytes left: ASCII that fits."""
    return len(name) <= room and name.isascii() and "\\" not in name
