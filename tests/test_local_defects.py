"""LocalStore cannot be wedged by keys, foreign files, symlinks or other containers."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest

import cloudmap
from cloudmap import CloudMapping
from cloudmap.errors import StoreError
from cloudmap.stores import LocalStore, Replace
from tests import reliability_workers as workers
from tests.spawned import spawn_pool


def test_key_and_json_suffixed_folder_coexist(tmp_path: Path) -> None:
    """Keys 'a.json/b' and 'a' both store, in either order, and the folder reopens."""
    for first, second in (("a.json/b", "a"), ("c", "c.json/d")):
        m = CloudMapping[bytes](LocalStore(tmp_path))
        m[first] = b"1"
        m[second] = b"2"
        again = CloudMapping[bytes](LocalStore(tmp_path))
        assert (again[first], again[second]) == (b"1", b"2")
        del again[first], again[second]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cloudmap"]
    assert list(LocalStore(tmp_path).list()) == []


def test_longest_segment_round_trips(tmp_path: Path) -> None:
    """A 255-byte key segment is written, read, listed and reopened."""
    key = "d/" + "é" * 127 + "x"
    m = CloudMapping[bytes](LocalStore(tmp_path))
    m[key] = b"v"
    again = CloudMapping[bytes](LocalStore(tmp_path))
    assert again[key] == b"v"
    assert [item.key for item in LocalStore(tmp_path).list()] == [key]


def test_foreign_files_with_invalid_names_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Listings skip files whose names are no valid key, warning once per file."""
    m = CloudMapping[bytes](LocalStore(tmp_path))
    m["good"] = b"v"
    (tmp_path / "back\\slash").write_bytes(b"x")
    os.close(os.open(os.fsencode(tmp_path) + b"/bad-\xff", os.O_CREAT | os.O_WRONLY))
    deep = tmp_path.joinpath(*["d" * 200] * 5)
    deep.mkdir(parents=True)
    (deep / ("long" + "x" * 40)).write_bytes(b"x")
    with caplog.at_level(logging.WARNING, logger="cloudmap"):
        again = CloudMapping[bytes](LocalStore(tmp_path))
        again.sync_with_cloud()
        assert list(again) == ["good"]
    warnings = [r for r in caplog.records if r.name == "cloudmap"]
    assert len(warnings) == 3, [r.getMessage() for r in warnings]
    assert all(r.levelno == logging.WARNING for r in warnings)
    text = "\n".join(r.getMessage() for r in warnings)
    assert "back\\\\slash" in text or "back\\slash" in text
    assert "bad-" in text
    assert "long" in text


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the root, holding a file a symlink will point at."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.json").write_bytes(b"precious")
    (folder / "victim").write_bytes(b"precious")
    return folder


def test_symlinks_in_the_system_folder_are_never_followed(
    tmp_path: Path, outside: Path
) -> None:
    """A symlink planted under .cloudmap lets no write or delete reach outside."""
    root = tmp_path / "root"
    m = CloudMapping[bytes](LocalStore(root))
    m["d/victim"] = b"mine"
    meta = root / ".cloudmap" / "meta"
    meta.mkdir(exist_ok=True)
    (meta / "d").symlink_to(outside)
    tmp = root / ".cloudmap" / "tmp"
    shutil.rmtree(tmp)
    tmp.symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())
    m2 = CloudMapping[bytes](LocalStore(root))
    try:
        m2["d/victim"] = b"again"
        del m2["d/victim"]
    except (StoreError, ValueError):
        pass
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "victim.json").read_bytes() == b"precious"
    assert (outside / "victim").read_bytes() == b"precious"


def test_orphan_temp_files_are_judged_by_lock_not_pid(tmp_path: Path) -> None:
    """A temp file locked by a writer in another PID namespace survives an open."""
    LocalStore(tmp_path)
    live = tmp_path / ".cloudmap" / "tmp" / "999999999-live.tmp"
    fd = os.open(live, os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        LocalStore(tmp_path)
        assert live.exists()
    finally:
        os.close(fd)
    LocalStore(tmp_path)
    assert not live.exists()


def test_os_errors_surface_as_store_errors(tmp_path: Path) -> None:
    """A vanished system folder gives StoreError, never a raw OSError."""
    store = LocalStore(tmp_path)
    store.put("k", b"v")
    shutil.rmtree(tmp_path / ".cloudmap")
    (tmp_path / ".cloudmap").write_bytes(b"not a folder")
    with pytest.raises(StoreError):
        store.put("k2", b"v")


def test_restored_mtime_still_changes_the_etag(tmp_path: Path) -> None:
    """A same-size in-place rewrite with the mtime restored gets a new etag."""
    store = LocalStore(tmp_path)
    store.put("ours", b"aaaa")
    (tmp_path / "theirs").write_bytes(b"aaaa")
    for key in ("ours", "theirs"):
        path = tmp_path / key
        before = store.get(key)
        assert before is not None
        stat = path.stat()
        with path.open("r+b") as file:
            file.write(b"bbbb")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        after = store.get(key)
        assert after is not None
        assert after.data == b"bbbb"
        assert after.etag != before.etag, key


def test_open_read_only_creates_nothing(tmp_path: Path) -> None:
    """Opening read-only reads a plain folder and creates no file in it."""
    (tmp_path / "k").write_bytes(b"v")
    store = LocalStore(tmp_path, read_only=True)
    assert [item.key for item in store.list()] == ["k"]
    assert store.get("k").data == b"v"  # type: ignore[union-attr]
    with pytest.raises(cloudmap.ReadOnlyError):
        store.put("k", b"w")
    with pytest.raises(cloudmap.ReadOnlyError):
        store.delete("k")
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def _old_layout(root: Path, values: dict[str, bytes]) -> None:
    """Write a folder as LocalStore did before the index: one sidecar per key."""
    for key, value in values.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)
        stat = path.stat()
        sidecar = root / ".cloudmap" / "meta" / f"{key}.json"
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "etag": f'"old-{key}"',
            "metadata": {"cloudmap-codec": "raw"},
            "identity": [stat.st_ino, stat.st_size, stat.st_mtime_ns],
        }
        sidecar.write_text(json.dumps(record))
    (root / ".cloudmap" / "tmp").mkdir()
    (root / ".cloudmap" / "lock").touch()


def test_old_layout_reads_read_only_and_migrates_on_a_writable_open(
    tmp_path: Path,
) -> None:
    """Sidecar etags and metadata survive: read in place, then moved into the index."""
    _old_layout(tmp_path, {"a": b"1", "d/b": b"2"})
    reader = LocalStore(tmp_path, read_only=True)
    entry = reader.get("d/b")
    assert entry is not None
    assert (entry.etag, dict(entry.metadata)) == (
        '"old-d/b"',
        {"cloudmap-codec": "raw"},
    )
    assert (tmp_path / ".cloudmap" / "meta").is_dir()
    store = LocalStore(tmp_path)
    assert not (tmp_path / ".cloudmap" / "meta").exists()
    assert not (tmp_path / ".cloudmap" / "lock").exists()
    assert sorted((i.key, i.etag) for i in store.list()) == [
        ("a", '"old-a"'),
        ("d/b", '"old-d/b"'),
    ]
    assert dict(store.get("a").metadata) == {"cloudmap-codec": "raw"}  # type: ignore[union-attr]
    store.put("a", b"3", mode=Replace('"old-a"'))
    assert store.get("a").data == b"3"  # type: ignore[union-attr]


def test_symlinked_system_folder_is_replaced_not_followed(
    tmp_path: Path, outside: Path
) -> None:
    """A .cloudmap symlink to outside is replaced by a real folder on a writable open."""
    root = tmp_path / "root"
    root.mkdir()
    (root / ".cloudmap").symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())
    reader = LocalStore(root, read_only=True)
    assert list(reader.list()) == []
    store = LocalStore(root)
    store.put("k", b"v")
    store.delete("k")
    assert (root / ".cloudmap").is_dir()
    assert not (root / ".cloudmap").is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == before


def test_mapping_calls_a_local_store_directly(tmp_path: Path) -> None:
    """No retry wrapper sits between a CloudMapping and a LocalStore."""
    store = LocalStore(tmp_path)
    assert CloudMapping[bytes](store).store is store


def test_a_closed_store_reopens_on_next_use(tmp_path: Path) -> None:
    """close() releases the folder; a later call opens it again, as before."""
    store = LocalStore(tmp_path)
    with CloudMapping[bytes](store) as m:
        m["k"] = b"v"
    with CloudMapping[bytes](store) as again:
        assert again["k"] == b"v"


def test_a_store_pickles_as_its_folder(tmp_path: Path) -> None:
    """A pickled LocalStore opens the same folder with the same options."""
    store = LocalStore(tmp_path, fsync=False)
    store.put("k", b"v")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.get("k").data == b"v"
    assert repr(copy) == repr(store)
    reader = pickle.loads(pickle.dumps(LocalStore(tmp_path, read_only=True)))
    assert reader.read_only
    # Named by the package, not by a private module that may move.
    assert b"cloudmap.stores.local\n_reopen" in pickle.dumps(store, protocol=0)


def test_a_store_pickled_by_the_previous_version_opens(tmp_path: Path) -> None:
    """A LocalStore pickled when `cloudmap.stores.local` was a module still loads."""
    LocalStore(tmp_path, fsync=False).put("k", b"v")
    # What the previous version's `pickle.dumps(store, protocol=0)` wrote.
    old = f"ccloudmap.stores.local\n_reopen\n(V{tmp_path}\nI00\nI00\ntR.".encode()
    copy = pickle.loads(old)
    assert isinstance(copy, LocalStore)
    assert copy.get("k").data == b"v"  # type: ignore[union-attr]
    assert not copy.read_only


def test_processes_opening_a_new_folder_at_once_all_succeed(tmp_path: Path) -> None:
    """Processes creating the same new store together each open it and write.

    SQLite refuses a switch to WAL at once while another process holds the
    file; unserialised, about one round in five failed with "database is locked".
    """
    processes, threads, rounds = 3, 4, 10
    with spawn_pool(processes, workers.set_process_barrier) as pool:
        for n in range(rounds):
            root = str(tmp_path / f"store{n}")
            futures = [
                pool.submit(workers.open_and_write, root, threads)
                for _ in range(processes)
            ]
            assert [future.result() for future in futures] == [threads] * processes
            assert len(list(LocalStore(root).list())) == processes * threads
