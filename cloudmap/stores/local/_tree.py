"""LocalStore's files: folders opened one segment at a time, never via a symlink.

Every operation works relative to an open directory descriptor (`dir_fd`)
with `O_NOFOLLOW`, so a symlink planted anywhere under the root, the store's
own folder included, is never followed by a read, write, rename or delete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat as _stat
import uuid
from dataclasses import dataclass

from cloudmap.errors import NotSupportedError

__all__ = [
    "Folders",
    "SymlinkError",
    "Tree",
    "is_dir",
    "lstat_mode",
    "open_dir",
    "read_all",
]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted as a key must not hang the reader.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class SymlinkError(ValueError):
    """A key's folder is a symlink, which LocalStore never follows."""


@dataclass
class Folders:
    """The open folders of a key, root first; the last one holds the file."""

    fds: list[int]
    owned: int  # how many of fds (from the end) this object must close

    @property
    def parent(self) -> int:
        """The folder that holds the key's file."""
        return self.fds[-1]

    def close(self) -> None:
        """Close the folders opened for this key."""
        for fd in self.fds[len(self.fds) - self.owned :]:
            os.close(fd)


class Tree:
    """The root directory, held open, and the store's temp folder inside it."""

    def __init__(self, root_fd: int, tmp_fd: int | None) -> None:
        self.root_fd = root_fd
        self.tmp_fd = tmp_fd

    def folders(self, segments: list[str], *, create: bool) -> Folders | None:
        """Open the folders above the last segment; None when one is missing.

        Raises:
            SymlinkError: a folder on the way is a symlink.
            NotSupportedError: a folder on the way is a file (another key).
        """
        fds = [self.root_fd]
        folders = Folders(fds, 0)
        try:
            for segment in segments[:-1]:
                fd = open_dir(fds[-1], segment, create=create)
                if fd is None:
                    folders.close()
                    return None
                fds.append(fd)
                folders.owned += 1
        except BaseException:
            folders.close()
            raise
        return folders

    @staticmethod
    def lstat(parent: int, name: str) -> os.stat_result | None:
        """The key file's own stat if it is a regular file, else None."""
        try:
            stat = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat if _stat.S_ISREG(stat.st_mode) else None

    def key_folders(self, segments: list[str], *, create: bool) -> Folders | None:
        """`folders`, or None when a folder on the way is a file (the key is missing).

        Raises:
            SymlinkError: a folder on the way is a symlink.
            NotSupportedError: `create` and a folder on the way is a file.
        """
        try:
            return self.folders(segments, create=create)
        except NotSupportedError:
            if create:
                raise
            return None

    def lstat_key(self, segments: list[str]) -> os.stat_result | None:
        """The stat of a key's file, if it is a regular file; None otherwise."""
        folders = self.key_folders(segments, create=False)
        if folders is None:
            return None
        try:
            return self.lstat(folders.parent, segments[-1])
        finally:
            folders.close()

    def open_key(self, segments: list[str]) -> tuple[int, os.stat_result] | None:
        """Open a key's file for reading; None unless it is a regular file."""
        if len(segments) == 1:
            return self.open_file(self.root_fd, segments[0])
        folders = self.key_folders(segments, create=False)
        if folders is None:
            return None
        try:
            return self.open_file(folders.parent, segments[-1])
        finally:
            folders.close()

    @staticmethod
    def open_file(parent: int, name: str) -> tuple[int, os.stat_result] | None:
        """Open the file `name` in `parent`; None unless it is a regular file."""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in {errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.ENXIO}:
                return None
            raise
        stat = os.fstat(fd)
        if not _stat.S_ISREG(stat.st_mode):
            os.close(fd)
            return None
        return fd, stat

    def temp_file(self, payload: bytes, *, fsync: bool) -> tuple[int, str]:
        """Write `payload` to a new temp file, locked while it lives; return fd, name.

        The lock (not a PID) tells other processes, in any PID namespace,
        that the file is still being written.
        """
        if self.tmp_fd is None:
            raise NotSupportedError("the store was opened read-only")
        while True:
            name = f"{uuid.uuid4().hex}.tmp"
            # os.open honours the umask, unlike mkstemp's fixed 0o600.
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, 0o666, dir_fd=self.tmp_fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink:
                break
            os.close(fd)  # a cleaner took it in the instant before the lock
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        except BaseException:
            self.discard(fd, name)
            raise
        return fd, name

    def discard(self, fd: int, name: str) -> None:
        """Remove a temp file that was not committed and release its lock."""
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=self.tmp_fd)
        finally:
            os.close(fd)

    def remove_orphans(self) -> None:
        """Delete temp files no live writer holds a lock on (left by a crash)."""
        with os.scandir(self.tmp_fd) as scan:
            names = [entry.name for entry in scan]
        for name in names:
            try:
                fd = os.open(name, _READ_FLAGS, dir_fd=self.tmp_fd)
            except OSError:
                continue  # gone already, or a symlink: never followed
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.discard(fd, name)

    def prune(self, folders: Folders, segments: list[str]) -> None:
        """Remove the key's folders left empty by a delete, deepest first."""
        for depth in range(len(folders.fds) - 1, 0, -1):
            try:
                os.rmdir(segments[depth - 1], dir_fd=folders.fds[depth - 1])
            except OSError as exc:
                if exc.errno in {errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT}:
                    return
                raise


def open_dir(parent: int, name: str, *, create: bool) -> int | None:
    """Open the folder `name` in `parent`; None when missing and not `create`.

    Raises:
        SymlinkError: `name` is a symlink.
        NotSupportedError: `name` is a file (another key).
    """
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            return None
    except OSError as exc:
        _refuse_non_folder(parent, name, exc)
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        _refuse_non_folder(parent, name, exc)
        raise  # pragma: no cover - _refuse_non_folder always raises


def lstat_mode(parent: int, name: str) -> int:
    """The mode of `name` itself (a symlink is not followed); 0 when missing."""
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return 0


def is_dir(parent: int, name: str) -> bool:
    """Whether `name` in the folder `parent` is a real folder."""
    return _stat.S_ISDIR(lstat_mode(parent, name))


def read_all(fd: int, size: int) -> bytes:
    """Read a whole file from an open descriptor; it may have grown since fstat."""
    data = os.read(fd, size + 1)
    if len(data) == size:
        return data
    parts = [data]
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _refuse_non_folder(parent: int, name: str, exc: OSError) -> None:
    try:
        stat = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except OSError:
        raise exc from None
    if _stat.S_ISLNK(stat.st_mode):
        msg = (
            f"{name!r} is a symlink; LocalStore never follows one "
            "(it could lead outside the root)"
        )
        raise SymlinkError(msg) from exc
    msg = f"{name!r} is a file (a key), so it cannot also be a folder of keys"
    raise NotSupportedError(msg) from exc
