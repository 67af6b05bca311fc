"""Opening a LocalStore folder: its system folder, its index, and the old layout.

A writable open creates `.cloudmap/` and `.cloudmap/tmp/` (replacing a symlink
planted in their place), opens the SQLite index, moves the sidecars of the old
layout into it and removes temp files no live writer holds. A read-only open
creates nothing: it reads the index if there is one, else the old sidecars.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as _stat
from dataclasses import dataclass, field
from pathlib import Path

from cloudmap.errors import StoreError
from cloudmap.stores.local._identity import identity
from cloudmap.stores.local._index import INDEX_NAME, Index, Row
from cloudmap.stores.local._legacy import StaticIndex, load_sidecars, remove_legacy
from cloudmap.stores.local._names import SYSTEM_DIR
from cloudmap.stores.local._tree import Tree, lstat_mode

__all__ = ["Layout", "open_layout"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Layout:
    """An opened store folder: its tree, its index and the descriptors to close."""

    tree: Tree
    index: Index | StaticIndex
    fds: list[int] = field(default_factory=list)

    def close(self) -> None:
        """Close the index and every descriptor."""
        self.index.close()
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


def open_layout(root: Path, *, read_only: bool) -> Layout:
    """Open the folder `root` (absolute, resolved) for a LocalStore."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fds = [root_fd]
    try:
        return (_for_reading if read_only else _for_writing)(root, fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _for_reading(root: Path, fds: list[int]) -> Layout:
    system_fd = _existing_dir(fds[0], SYSTEM_DIR)
    index: Index | StaticIndex
    if system_fd is None:
        index = StaticIndex({})
    else:
        fds.append(system_fd)
        if _is(system_fd, INDEX_NAME, _stat.S_ISREG):
            index = Index(
                str(root / SYSTEM_DIR / INDEX_NAME), read_only=True, key=(0, 0)
            )
        else:
            index = StaticIndex(load_sidecars(system_fd) or {})
    return Layout(Tree(fds[0], None), index, fds)


def _for_writing(root: Path, fds: list[int]) -> Layout:
    system_fd = _ensure_dir(fds[0], SYSTEM_DIR)
    fds.append(system_fd)
    tmp_fd = _ensure_dir(system_fd, "tmp")
    fds.append(tmp_fd)
    index_path = root / SYSTEM_DIR / INDEX_NAME
    if _is(system_fd, INDEX_NAME, _stat.S_ISLNK):
        msg = f"{index_path} is a symlink; LocalStore never follows one"
        raise StoreError(msg, store=f"file://{root}")
    root_stat = os.fstat(fds[0])
    index = Index(
        str(index_path), read_only=False, key=(root_stat.st_dev, root_stat.st_ino)
    )
    layout = Layout(Tree(fds[0], tmp_fd), index, fds)
    _migrate(layout, system_fd, root / SYSTEM_DIR)
    layout.tree.remove_orphans()
    return layout


def _migrate(layout: Layout, system_fd: int, system_dir: Path) -> None:
    """Move the rows of the old sidecar layout into the index, once."""
    legacy = load_sidecars(system_fd)
    if legacy is None:
        return
    assert isinstance(layout.index, Index)  # noqa: S101 - a writable layout
    with layout.index.transaction() as tx:
        for key, row in legacy.items():
            stat = layout.tree.lstat_key(key.split("/"))
            if stat is not None and tx.get(key) is None and row.matches(identity(stat)):
                tx.put(key, Row(row.etag, row.metadata_json, identity(stat)))
    remove_legacy(system_dir)


def _ensure_dir(parent: int, name: str) -> int:
    """Open one of the store's own folders, creating it if needed.

    A symlink planted in its place is replaced by a real folder, never followed.
    """
    if _is(parent, name, _stat.S_ISLNK):
        os.unlink(name, dir_fd=parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent)
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _existing_dir(parent: int, name: str) -> int | None:
    """Open one of the store's own folders if it is there (a symlink is not)."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in {errno.ENOENT, errno.ELOOP, errno.ENOTDIR}:
            raise
        return None


def _is(parent: int, name: str, kind: object) -> bool:
    return bool(kind(lstat_mode(parent, name)))  # type: ignore[operator]
