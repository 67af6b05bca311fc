"""No secret leaks into reprs, errors or logs; no unpickling by default; no escape from root.

The leak test runs a workload with DEBUG logging on for every logger (the SDKs'
included) and looks for every credential the test session knows: Azurite's
account key (in every Azure connection string the emulator fixtures build) and
any cloud credential set in the environment.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudmap import BulkError, CloudMapError, CloudMapping, LocalMapping, codecs
from cloudmap.errors import CodecError
from cloudmap.stores import LocalStore, S3Store, Store
from devtools.emulators import AZURITE_KEY

StoreFactory = Callable[[], Store]

CREDENTIAL_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)
SDK_LOGGERS = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "azure",
    "google",
    "cloudmap",
)


def known_secrets() -> list[str]:
    """Every secret this session may have configured, in the forms a URL would carry."""
    values = [AZURITE_KEY]
    values += [os.environ[name] for name in CREDENTIAL_VARIABLES if name in os.environ]
    forms = set()
    for value in values:
        if len(value) >= 8:
            forms |= {
                value,
                urllib.parse.quote(value, safe=""),
                urllib.parse.quote_plus(value),
            }
    return sorted(forms)


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str and repr of an exception, its chain and a BulkError's per-key errors."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (str(arg) for arg in current.args)
        if isinstance(current, BulkError):
            todo += current.errors.values()
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def exercise(store_factory: StoreFactory) -> list[str]:
    """Run writes, conflicts and failures; return every repr and error text seen."""
    texts: list[str] = []
    store = store_factory()
    with (
        CloudMapping[object](store_factory(), codec=codecs.json()) as first,
        CloudMapping[object](store_factory(), codec=codecs.json()) as second,
    ):
        first["k"] = {"v": 1}
        second.sync_with_cloud()
        second["k"] = {"v": 2}
        second.sync_with_cloud("k")
        failures: list[Callable[[], object]] = [
            lambda: first["k"],
            lambda: first.__setitem__("k", 3),
            lambda: first.__delitem__("k"),
            lambda: first.create("k", 4),
            lambda: first.__setitem__("bad", {1}),
            lambda: first.get_many(["k", "missing"]),
        ]
        raised = 0
        for failure in failures:
            # fake-gcs-server ignores conditions on reads and deletes, so only
            # the three write failures are sure everywhere.
            try:
                failure()
            except (CloudMapError, KeyError) as exc:
                raised += 1
                texts += exception_texts(exc)
        assert raised >= 3
        store.put("corrupt", b"\xff")
        second.sync_with_cloud()
        try:
            second["corrupt"]
        except CloudMapError as exc:
            texts += exception_texts(exc)
        second.delete_many(list(second))
        texts += [repr(store), store.name, str(store), repr(first), str(second)]
    store.close()
    return texts


def leaks(
    secrets: list[str], texts: list[str], caplog: pytest.LogCaptureFixture
) -> list[tuple[str, str]]:
    """Each (secret prefix, text) where a secret shows in a text or a log record."""
    texts = texts + [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    return [
        (secret[:6], text[:200])
        for secret in secrets
        for text in texts
        if secret in text
    ]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger, the SDKs' included, captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in SDK_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_secret_in_reprs_errors_or_logs(
    store_factory: StoreFactory, debug_logs: pytest.LogCaptureFixture
) -> None:
    """Reprs, exception messages and DEBUG log records never contain a credential."""
    texts = exercise(store_factory)
    assert leaks(known_secrets(), texts, debug_logs) == []


PLANTED_SECRET = "PLANTED-secret-access-key-0123456789abcdef"
PLANTED_TOKEN = "PLANTED-session-token-fedcba9876543210"


@pytest.mark.emulator
@pytest.mark.parametrize("source", ["arguments", "environment"])
def test_planted_s3_keys_never_show(
    s3_endpoint: str,
    s3_bucket: str,
    source: str,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """An S3 secret key and session token, given or from the environment, show nowhere."""
    credentials = {
        "aws_access_key_id": "AKIAPLANTEDKEYID0000",
        "aws_secret_access_key": PLANTED_SECRET,
        "aws_session_token": PLANTED_TOKEN,
    }
    if source == "environment":
        for name, value in credentials.items():
            monkeypatch.setenv(name.upper(), value)
        credentials = {}
    options = {"endpoint_url": s3_endpoint, "region_name": "us-east-1", **credentials}
    texts = exercise(functools.partial(S3Store, s3_bucket, **options))
    with pytest.raises(CloudMapError) as info:
        S3Store("no-such-bucket-here", **options).put("k", b"v")
    texts += exception_texts(info.value)
    assert leaks([PLANTED_SECRET, PLANTED_TOKEN], texts, debug_logs) == []


class Boom:
    """Unpickling this runs `os.mkdir(path)`: what a hostile object would do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (os.mkdir, (self.path,))


def test_default_codec_never_unpickles(store: Store, tmp_path: Path) -> None:
    """A hostile pickle in the store is returned as bytes, never executed, by default."""
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Boom(str(marker)))
    store.put("evil", payload)
    store.put("tagged", payload, metadata={"cloudmap-codec": "pickle"})
    m = CloudMapping[bytes](store)
    assert m.codec.name == "raw"
    assert m["evil"] == payload
    with pytest.raises(CodecError, match="pickle"):
        m["tagged"]
    assert not marker.exists()
    with LocalMapping[bytes](tmp_path / "local") as local:
        assert local.codec.name == "raw"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the store's root holding one file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret").write_bytes(b"outside")
    return folder


def test_symlinked_folder_is_never_followed(tmp_path: Path, outside: Path) -> None:
    """No operation reads, writes, deletes or lists through a folder symlink out of root."""
    root = tmp_path / "root"
    store = LocalStore(root)
    (root / "link").symlink_to(outside)
    (root / "deep").mkdir()
    (root / "deep" / "link").symlink_to(outside)
    for key in ("link/secret", "deep/link/secret", "link/new"):
        with pytest.raises(ValueError, match="outside"):
            store.get(key)
        with pytest.raises(ValueError, match="outside"):
            store.put(key, b"overwritten")
        with pytest.raises(ValueError, match="outside"):
            store.delete(key)
    assert list(store.list()) == []
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"outside"


def test_symlinked_file_is_replaced_not_written_through(
    tmp_path: Path, outside: Path
) -> None:
    """Writing a key that is a symlink replaces the link; the target stays untouched."""
    root = tmp_path / "root"
    store = LocalStore(root)
    (root / "k").symlink_to(outside / "secret")
    store.delete("k")  # a symlink is not a key: deleting it is a no-op
    assert (root / "k").is_symlink()
    store.put("k", b"mine")
    assert not (root / "k").is_symlink()
    assert store.get("k").data == b"mine"  # type: ignore[union-attr]
    assert (outside / "secret").read_bytes() == b"outside"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_follow_the_process_umask(tmp_path: Path, umask: int) -> None:
    """Values, sidecars and folders are created with the process umask."""
    old = os.umask(umask)
    try:
        store = LocalStore(tmp_path / "store")
        store.put("folder/key", b"v")
    finally:
        os.umask(old)
    created = [tmp_path / "store", *(tmp_path / "store").rglob("*")]
    assert len(created) > 5
    for path in created:
        mode = path.stat().st_mode & 0o777
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert mode == expected, f"{path} has mode {oct(mode)}"
        assert not mode & 0o002, f"{path} is world-writable"
