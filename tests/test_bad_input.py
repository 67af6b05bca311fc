"""Bad input raises a specific exception and leaves the store and the mapping unchanged.

Each case of docs/reliability.md's table runs against a store that already
holds values; the store's objects (bytes, etags, metadata) and the mapping's
etag view are compared before and after.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cloudmap
from cloudmap import CloudMapping, Codec, ReadOnlyError, StoreError
from cloudmap.codecs import json, pickle, raw, text, zlib
from cloudmap.errors import (
    AccessDeniedError,
    CodecError,
    ConfigError,
    ContainerNotFoundError,
)
from cloudmap.stores import LocalStore, Store

StoreFactory = Callable[[], Store]
Snapshot = dict[str, tuple[bytes, str, dict[str, str]]]


def snapshot(store: Store) -> Snapshot:
    """Every object of the store: its bytes, etag and metadata."""
    objects: Snapshot = {}
    for item in store.list():
        entry = store.get(item.key)
        assert entry is not None
        objects[item.key] = (entry.data, entry.etag, dict(entry.metadata))
    return objects


@dataclass(frozen=True)
class Case:
    """One bad input: the codec of the mapping, what it does, what it must raise."""

    codec: Codec
    action: Callable[[CloudMapping[Any], Store], object]
    error: type[BaseException]
    match: str = ""


def setitem(key: Any, value: Any) -> Callable[[CloudMapping[Any], Store], object]:
    def action(m: CloudMapping[Any], _: Store) -> None:
        m[key] = value

    return action


def getitem(key: Any) -> Callable[[CloudMapping[Any], Store], object]:
    return lambda m, _: m[key]


def delitem(key: Any) -> Callable[[CloudMapping[Any], Store], object]:
    def action(m: CloudMapping[Any], _: Store) -> None:
        del m[key]

    return action


def planted(
    data: bytes, metadata: dict[str, str] | None = None
) -> Callable[[CloudMapping[Any], Store], object]:
    """Read key 'planted', which another tool wrote with these bytes."""

    def action(m: CloudMapping[Any], _: Store) -> object:
        return m["planted"]

    action.data = data  # type: ignore[attr-defined]
    action.metadata = metadata  # type: ignore[attr-defined]
    return action


def fail(_: object) -> object:
    msg = "the user's function failed"
    raise RuntimeError(msg)


CASES = {
    # A lookup with a non-str key misses, as in dict; a write names the type.
    "int key, get": Case(raw(), getitem(1), KeyError, "1"),
    "bytes key, set": Case(raw(), setitem(b"k", b"v"), TypeError, "str"),
    "None key, delete": Case(raw(), delitem(None), KeyError, "None"),
    "empty key": Case(raw(), setitem("", b"v"), ValueError, "empty"),
    "key over 1024 bytes": Case(raw(), setitem("k" * 1025, b"v"), ValueError, "1024"),
    "key over 1024 UTF-8 bytes": Case(
        raw(), setitem("é" * 513, b"v"), ValueError, "1024"
    ),
    "NUL in key": Case(raw(), setitem("a\x00b", b"v"), ValueError, "NUL"),
    "lone surrogate in key": Case(raw(), setitem("a\ud800", b"v"), ValueError, "UTF-8"),
    "str value, raw mapping": Case(
        raw(), setitem("existing", "text"), CodecError, "bytes"
    ),
    "None value, raw mapping": Case(raw(), setitem("new", None), CodecError, "bytes"),
    "unpicklable lambda": Case(
        pickle(), setitem("existing", lambda: 1), CodecError, "'existing'"
    ),
    "unpicklable lock": Case(
        pickle(), setitem("new", threading.Lock()), CodecError, "'new'"
    ),
    "set in JSON": Case(json(), setitem("existing", {1, 2}), CodecError, "'existing'"),
    "NaN in JSON": Case(json(), setitem("new", float("nan")), CodecError, "'new'"),
    "bytes value, text codec": Case(text(), setitem("new", b"v"), CodecError, "str"),
    "codec returning str": Case(
        Codec.chain([str], [bytes], name="str-only"),
        setitem("new", 1),
        CodecError,
        "bytes",
    ),
    "corrupt JSON bytes": Case(json(), planted(b"{not json"), CodecError, "'planted'"),
    "corrupt zlib bytes": Case(
        json() | zlib(), planted(b"\x78\x9cbad"), CodecError, "'planted'"
    ),
    "truncated pickle": Case(
        pickle(), planted(b"\x80\x05\x95"), CodecError, "'planted'"
    ),
    "invalid UTF-8 for text": Case(
        text(), planted(b"\xff\xfe"), CodecError, "'planted'"
    ),
    "tagged with another codec": Case(
        json(),
        planted(b"\x80\x05K\x01.", {"cloudmap-codec": "pickle"}),
        CodecError,
        "pickle",
    ),
    "modify function raises": Case(
        json(), lambda m, _: m.modify("existing", fail), RuntimeError, "user's"
    ),
    "prefix + key over 1024 bytes": Case(
        raw(),
        lambda _, store: CloudMapping[bytes](store, key_prefix="p" * 1000).__setitem__(
            "k" * 30, b"v"
        ),
        ValueError,
        "1024",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_input_raises_and_changes_nothing(store: Store, case: Case) -> None:
    """Each bad input raises its documented exception and changes no object or etag."""
    try:
        encoded = case.codec.dumps(_sample(case.codec))
    except CodecError:  # a codec that can encode nothing: its own bad-input case
        encoded = b"1"
    store.put("existing", encoded, metadata={"cloudmap-codec": case.codec.name})
    data = getattr(case.action, "data", None)
    if data is not None:
        store.put("planted", data, metadata=getattr(case.action, "metadata", None))
    m = CloudMapping[Any](store, codec=case.codec)
    before, etags = snapshot(store), dict(m.etags)
    with pytest.raises(case.error, match=case.match):
        case.action(m, store)
    assert snapshot(store) == before
    assert dict(m.etags) == etags


def _sample(codec: Codec) -> Any:
    if codec.name == "raw":
        return b"value"
    if codec.name.startswith("text"):
        return "value"
    return 1


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a//b", ".cloudmap/lock", "a\\b", "x/"]
)
def test_path_keys_on_local_store_change_nothing(
    local_store_factory: StoreFactory, key: str
) -> None:
    """Keys that would escape or alias a path raise ValueError and touch no file."""
    store = local_store_factory()
    m = CloudMapping[bytes](store)
    m["existing"] = b"v"
    parent = Path(store.name.removeprefix("file://")).parent
    files_before = sorted(parent.rglob("*"))
    before = snapshot(store)
    # The mapping refuses the write; reads and deletes of keys it never saw
    # raise KeyError without a request, so the store is asked directly.
    with pytest.raises(ValueError, match="key"):
        m[key] = b"v"
    for call in (
        lambda: store.get(key),
        lambda: store.put(key, b"v"),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="key"):
            call()
    assert snapshot(store) == before
    assert sorted(parent.rglob("*")) == files_before


def test_missing_directory_without_create(tmp_path: Path) -> None:
    """create=False on a missing directory raises ContainerNotFoundError, creating nothing."""
    with pytest.raises(ContainerNotFoundError, match="does not exist"):
        LocalStore(tmp_path / "missing", create=False)
    assert not (tmp_path / "missing").exists()


@pytest.fixture
def make_read_only() -> Iterator[Callable[[Path], None]]:
    """Make a directory unwritable, even for root (chattr +i); undo it afterwards."""
    done: list[tuple[Path, int]] = []

    def apply(path: Path) -> None:
        import os  # noqa: PLC0415

        if os.geteuid() != 0:
            done.append((path, path.stat().st_mode))
            path.chmod(0o555)
            return
        if shutil.which("chattr") is None:
            pytest.skip(
                "running as root without chattr: cannot make a folder read-only"
            )
        result = subprocess.run(
            ["chattr", "+i", str(path)], check=False, capture_output=True
        )
        if result.returncode != 0:
            pytest.skip(f"chattr +i failed here: {result.stderr.decode().strip()}")
        done.append((path, -1))

    yield apply
    for path, mode in reversed(done):
        if mode == -1:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(mode)


def test_read_only_directory_raises_access_denied(
    tmp_path: Path, make_read_only: Callable[[Path], None]
) -> None:
    """Writes to a read-only directory raise AccessDeniedError; reads still work."""
    root = tmp_path / "store"
    store = LocalStore(root)
    m = CloudMapping[bytes](store)
    m["existing"] = b"v"
    before = snapshot(store)
    make_read_only(root)
    with pytest.raises(AccessDeniedError, match="existing") as info:
        m["existing"] = b"w"
    assert isinstance(info.value, StoreError)
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(AccessDeniedError):
        m["new"] = b"w"
    with pytest.raises(AccessDeniedError):
        del m["existing"]
    assert m["existing"] == b"v"
    assert snapshot(store) == before
    assert not list((root / ".cloudmap" / "tmp").iterdir())


@pytest.mark.parametrize(
    ("target", "ini"),
    [
        ("ftp://host/path", None),
        ("s3://", None),
        ("gs://bucket?no_such_option=1", None),
        ("config.ini", "[default]\n"),
        ("config.ini", "[default]\nproviders = a\n"),
        ("config.ini", "not an ini file"),
    ],
)
def test_bad_targets_raise_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, ini: str | None
) -> None:
    """Bad URLs and ini files raise ConfigError and create nothing."""
    monkeypatch.chdir(tmp_path)
    if ini is not None:
        (tmp_path / target).write_text(ini)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConfigError):
        cloudmap.open(target).close()
    assert sorted(tmp_path.rglob("*")) == before


def test_read_only_shelf_refuses_writes(store_factory: StoreFactory) -> None:
    """A shelf opened with flag 'r' raises ReadOnlyError on writes and changes nothing."""
    # A shelf closes its store, so each one gets its own client.
    with cloudmap.open(store_factory(), codec="json") as shelf:
        shelf["existing"] = 1
    store = store_factory()
    before = snapshot(store)
    with cloudmap.open(store_factory(), "r", codec="json") as shelf:
        with pytest.raises(ReadOnlyError):
            shelf["existing"] = 2
        with pytest.raises(ReadOnlyError):
            del shelf["existing"]
        assert shelf["existing"] == 1
    assert snapshot(store) == before
    store.close()
