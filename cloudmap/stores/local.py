"""LocalStore: a directory on disk, safe across threads and processes on one machine.

Layout under `root`:

- `root/<key>`: the value's bytes, verbatim, so other tools can read them
  (a key with `/` becomes folders);
- `root/.cloudmap/meta/<key>.json`: its etag and metadata, plus the identity
  (inode, size, mtime) of the data file they describe;
- `root/.cloudmap/tmp/`: files being written, never visible as keys;
- `root/.cloudmap/lock`: the lock every operation takes (`flock`: shared to
  read, exclusive to write), so a precondition check and its write are atomic.

A write goes to a temporary file that is fsynced, then `os.replace`d over the
key, then its sidecar is replaced the same way. A crash between the two steps
leaves the new bytes with a sidecar that no longer matches them: the key then
gets an etag derived from the file's identity, as files written by other tools
do, and never shows torn bytes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat as _stat
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from cloudmap.errors import (
    AccessDeniedError,
    ContainerNotFoundError,
    EtagMismatchError,
    NotSupportedError,
    StoreError,
)
from cloudmap.store import Entry, ListedKey, check_precondition, validate_key

__all__ = ["LocalStore"]

_SYSTEM_DIR = ".cloudmap"
_MAX_SEGMENT_BYTES = 255


class LocalStore:
    """A directory on disk; the embedded default store.

    Args:
        root: the directory; created (with parents) when missing unless
            `create=False`.
        create: create `root` if it does not exist.
        fsync: flush every write to disk before it becomes visible.

    POSIX only: it relies on `fcntl.flock`.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, create: bool = True, fsync: bool = True
    ) -> None:
        path = Path(root).expanduser()
        with _map_os_errors(f"file://{path}", None):
            self._open(path, create=create)
        self._fsync = fsync

    def _open(self, path: Path, *, create: bool) -> None:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            msg = f"directory {str(path)!r} does not exist (pass create=True)"
            raise ContainerNotFoundError(msg, store=f"file://{path}")
        self._root = path.resolve()
        self._system = self._root / _SYSTEM_DIR
        self._meta_root = self._system / "meta"
        self._tmp = self._system / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._meta_root.mkdir(exist_ok=True)
        self._lock_path = self._system / "lock"
        self._lock_path.touch(exist_ok=True)
        self._remove_orphaned_temp_files()

    @property
    def root(self) -> Path:
        """The directory holding the values."""
        return self._root

    @property
    def name(self) -> str:
        """`file://` followed by the absolute root directory."""
        return f"file://{self._root}"

    def __repr__(self) -> str:
        return f"LocalStore({str(self._root)!r})"

    # -- paths -------------------------------------------------------------

    def _segments(self, key: str) -> list[str]:
        validate_key(key)
        segments = key.split("/")
        for segment in segments:
            if segment in {"", ".", ".."}:
                msg = (
                    f"key {key!r} cannot be stored in {self.name}: empty, '.' and '..' "
                    "path segments (and a leading or trailing '/') would escape the "
                    "root or alias another key"
                )
                raise ValueError(msg)
            if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
                msg = f"key {key!r}: a path segment is over 255 bytes (file-name limit)"
                raise ValueError(msg)
        if "\\" in key:
            msg = f"key {key!r} holds a backslash, a path separator on Windows"
            raise ValueError(msg)
        if segments[0] == _SYSTEM_DIR:
            msg = f"key {key!r}: {_SYSTEM_DIR!r} is reserved for LocalStore's own files"
            raise ValueError(msg)
        return segments

    def _paths(self, key: str) -> tuple[Path, Path]:
        segments = self._segments(key)
        data = self._root.joinpath(*segments)
        meta = self._meta_root.joinpath(*segments[:-1], segments[-1] + ".json")
        self._check_inside(key, data.parent)
        return data, meta

    def _check_inside(self, key: str, directory: Path) -> None:
        """Refuse a key whose folder is a symlink that leads out of the root."""
        real = Path(os.path.realpath(directory))
        if real != self._root and self._root not in real.parents:
            msg = f"key {key!r} resolves outside {self.name} through a symlink"
            raise ValueError(msg)

    # -- locking -----------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool, key: str | None = None) -> Iterator[None]:
        # One open file description per operation: flock then excludes other
        # threads of this process as well as other processes.
        with _map_os_errors(self.name, key):
            fd = os.open(self._lock_path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)

    # -- reading state -------------------------------------------------------

    def _current(self, data: Path, meta: Path) -> tuple[str, Mapping[str, str]] | None:
        """The etag and metadata of the file at `data`, or None when missing."""
        try:
            stat = data.stat(follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not _stat.S_ISREG(stat.st_mode):
            return None
        identity = [stat.st_ino, stat.st_size, stat.st_mtime_ns]
        try:
            record = json.loads(meta.read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("identity") == identity:
            return str(record["etag"]), MappingProxyType(dict(record["metadata"]))
        # Written by another tool, or a crash came between data and sidecar.
        return (
            f'"stat-{stat.st_ino}-{stat.st_size}-{stat.st_mtime_ns}"',
            MappingProxyType({}),
        )

    def get(
        self,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Entry | None:
        """Read `key`; see `cloudmap.store.Store.get`."""
        data_path, meta_path = self._paths(key)
        with self._locked(exclusive=False, key=key):
            current = self._current(data_path, meta_path)
            etag = current[0] if current is not None else None
            if if_match is not None and etag != if_match:
                raise EtagMismatchError(
                    key, expected_etag=if_match, actual_etag=etag, store=self.name
                )
            if current is None:
                return None
            if if_none_match is not None and etag == if_none_match:
                return Entry(b"", current[0], current[1], not_modified=True)
            fd = os.open(data_path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as file:
                payload = file.read()
        return Entry(payload, current[0], current[1])

    # -- writing -------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write `key`; see `cloudmap.store.Store.put`."""
        data_path, meta_path = self._paths(key)
        etag = f'"{uuid.uuid4().hex}"'
        with _map_os_errors(self.name, key):
            # The value is written and fsynced before the lock is taken, so
            # writers of different keys only serialise on the short commit.
            temp_data = self._write_temp(bytes(data), fsync=self._fsync)
        try:
            stat = temp_data.stat()
            record = {
                "etag": etag,
                "metadata": dict(metadata or {}),
                "identity": [stat.st_ino, stat.st_size, stat.st_mtime_ns],
            }
            with self._locked(exclusive=True, key=key):
                current = self._current(data_path, meta_path)
                check_precondition(
                    key,
                    current[0] if current is not None else None,
                    if_match=if_match,
                    if_none_match=if_none_match,
                    store=self.name,
                )
                if current is None and data_path.is_dir():
                    msg = (
                        f"key {key!r} cannot be stored in {self.name}: a folder of "
                        "that name holds other keys (a file and a folder cannot "
                        "share a path)"
                    )
                    raise NotSupportedError(msg)
                # No fsync: a sidecar lost in a crash no longer matches the data
                # file, which then reads whole under a stat-derived etag.
                temp_meta = self._write_temp(
                    json.dumps(record).encode("utf-8"), fsync=False
                )
                try:
                    self._make_parents(key, data_path)
                    meta_path.parent.mkdir(parents=True, exist_ok=True)
                    temp_data.replace(data_path)
                    temp_meta.replace(meta_path)
                finally:
                    temp_meta.unlink(missing_ok=True)
        finally:
            temp_data.unlink(missing_ok=True)
        return etag

    def _make_parents(self, key: str, data_path: Path) -> None:
        try:
            data_path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            msg = (
                f"key {key!r} cannot be stored in {self.name}: one of its folders "
                "is already a key (a file and a folder cannot share a path)"
            )
            raise NotSupportedError(msg) from exc
        self._check_inside(key, data_path.parent)

    def _write_temp(self, payload: bytes, *, fsync: bool) -> Path:
        path = self._tmp / f"{os.getpid()}-{uuid.uuid4().hex}.tmp"
        # os.open honours the umask, unlike mkstemp's fixed 0o600.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return path

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete `key`; see `cloudmap.store.Store.delete`."""
        data_path, meta_path = self._paths(key)
        with self._locked(exclusive=True, key=key):
            current = self._current(data_path, meta_path)
            check_precondition(
                key,
                current[0] if current is not None else None,
                if_match=if_match,
                if_none_match=False,
                store=self.name,
            )
            if current is None:
                return
            data_path.unlink()
            meta_path.unlink(missing_ok=True)
            self._prune(data_path.parent, self._root)
            self._prune(meta_path.parent, self._meta_root)

    @staticmethod
    def _prune(directory: Path, stop: Path) -> None:
        """Remove folders left empty by a delete, up to `stop`."""
        while directory != stop:
            try:
                directory.rmdir()
            except OSError as exc:
                if exc.errno in {errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT}:
                    return
                raise
            directory = directory.parent

    # -- listing -------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        """Yield keys starting with `prefix`, folder by folder."""
        yield from self._walk(self._root, "", prefix)

    def _walk(self, directory: Path, base: str, prefix: str) -> Iterator[ListedKey]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            key = base + entry.name
            if key == _SYSTEM_DIR:
                continue
            if entry.is_dir(follow_symlinks=False):
                if key.startswith(prefix) or prefix.startswith(key + "/"):
                    yield from self._walk(Path(entry.path), key + "/", prefix)
            elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
                data_path, meta_path = self._paths(key)
                with self._locked(exclusive=False, key=key):
                    current = self._current(data_path, meta_path)
                if current is not None:
                    yield ListedKey(key, current[0])

    # -- housekeeping --------------------------------------------------------

    def _remove_orphaned_temp_files(self) -> None:
        """Delete temp files whose writing process has died (after a crash)."""
        for path in self._tmp.iterdir():
            pid_text = path.name.split("-", 1)[0]
            if pid_text.isdigit() and not _process_alive(int(pid_text)):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def _map_os_errors(store: str, key: str | None) -> Iterator[None]:
    """Turn the file system's errors into StoreErrors, as cloud stores do."""
    what = f"key {key!r} in {store}" if key is not None else store
    try:
        yield
    except PermissionError as exc:
        msg = f"permission denied on {what}: {exc.strerror}"
        raise AccessDeniedError(msg, key=key, store=store) from exc
    except OSError as exc:
        if exc.errno == errno.EROFS:
            msg = f"{what} is on a read-only file system"
            raise AccessDeniedError(msg, key=key, store=store) from exc
        msg = f"file system error on {what}: {exc.strerror or exc}"
        raise StoreError(msg, key=key, store=store) from exc


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
