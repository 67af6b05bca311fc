"""LocalStore's files: folders opened one segment at a time, never via a symlink.

Every operation works relative to an open directory descriptor (`dir_fd`)
with `O_NOFOLLOW`, so a symlink planted anywhere under the root, the store's
own folder included, is never followed by a read, write, rename or delete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import stat as _stat
import uuid
from dataclasses import dataclass

from cloudmap.errors import NotSupportedError

__all__ = [
    "Found",
    "Identity",
    "Tree",
    "derived_etag",
    "digest",
    "file_digest",
    "identity",
    "is_dir",
    "key_problem",
    "lstat_mode",
    "read_all",
    "skip_key",
]

SYSTEM_DIR = ".cloudmap"
MAX_SEGMENT_BYTES = 255
_MAX_KEY_BYTES = 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted as a key must not hang the reader.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_LOG = logging.getLogger("cloudmap")

Identity = tuple[int, int, int, int]
"""A file's inode, size, mtime and ctime (ns): the ctime cannot be set by users."""
Found = tuple[str, int, int, int, int]
"""A listed file: its key, then its identity, flat, to be looked up as one tuple."""


def identity(stat: os.stat_result) -> Identity:
    """The identity of a file, as recorded in the index."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def derived_etag(ident: Identity) -> str:
    """The etag of a file the index does not describe (another tool wrote it)."""
    return '"stat-{}-{}-{}-{}"'.format(*ident)


def digest(data: bytes) -> bytes:
    """The digest of a value's bytes, kept in the index to recognise them."""
    return hashlib.blake2b(data, digest_size=16).digest()


def file_digest(fd: int) -> bytes:
    """The digest of an open file's bytes (its offset is left alone)."""
    hasher = hashlib.blake2b(digest_size=16)
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        hasher.update(chunk)
        offset += len(chunk)
    return hasher.digest()


def key_problem(key: str) -> str | None:  # noqa: PLR0911 - one reason each
    """Why `key` cannot name a file under the root, or None when it can."""
    if "\\" in key:
        return "holds a backslash, a path separator on Windows"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > _MAX_KEY_BYTES:
        return f"is over {_MAX_KEY_BYTES} UTF-8 bytes"
    segments = key.split("/")
    if segments[0] == SYSTEM_DIR:
        return f"starts with {SYSTEM_DIR!r}, reserved for LocalStore's own files"
    for segment in segments:
        if segment in {"", ".", ".."}:
            return (
                "has empty, '.' or '..' path segments (or a leading or trailing "
                "'/'), which would escape the root or alias another key"
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return (
                f"has a path segment over {MAX_SEGMENT_BYTES} bytes (file-name limit)"
            )
    return None


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
                fd = self._open_dir(fds[-1], segment, create=create)
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
    def _open_dir(parent: int, name: str, *, create: bool) -> int | None:
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

    @staticmethod
    def lstat(parent: int, name: str) -> os.stat_result | None:
        """The key file's own stat if it is a regular file, else None."""
        try:
            stat = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat if _stat.S_ISREG(stat.st_mode) else None

    def lstat_key(self, segments: list[str]) -> os.stat_result | None:
        """The stat of a key's file, if it is a regular file; None otherwise."""
        try:
            folders = self.folders(segments, create=False)
        except NotSupportedError:
            return None  # a folder on the way is a file: the key is missing
        if folders is None:
            return None
        try:
            return self.lstat(folders.parent, segments[-1])
        finally:
            folders.close()

    @staticmethod
    def open_file(parent: int, name: str) -> tuple[int, os.stat_result] | None:
        """Open a key's file for reading; None unless it is a regular file."""
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

    def walk(self, prefix: str, warned: set[str]) -> list[Found]:
        """(key, *identity) of each regular file whose key starts with `prefix`, sorted.

        Folders whose names are no valid key are skipped with one WARNING each;
        files are not checked (see `skip_key`).
        """
        found: list[Found] = []
        self._walk(self.root_fd, "", prefix, warned, found)
        found.sort()
        return found

    def _walk(
        self,
        fd: int,
        base: str,
        prefix: str,
        warned: set[str],
        found: list[Found],
    ) -> None:
        with os.scandir(fd) as scan:
            entries = list(scan)
        add = found.append
        room = _MAX_KEY_BYTES - len(base.encode("utf-8", "surrogateescape"))
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
                child = self._open_dir(fd, name, create=False)
                if child is not None:
                    try:
                        self._walk(child, key + "/", prefix, warned, found)
                    finally:
                        os.close(child)


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


def _plain_name(name: str, room: int) -> bool:
    """Whether `name` is surely valid with `room` bytes left: ASCII that fits."""
    return len(name) <= room and name.isascii() and "\\" not in name


def skip_key(key: str, warned: set[str]) -> bool:
    """Whether a listing skips the file `key`: no valid key (warned once per key)."""
    problem = key_problem(key)
    if problem is None:
        return False
    if key not in warned:
        warned.add(key)
        _LOG.warning("skipping %r: the name %s, so it is no key", key, problem)
    return True


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
