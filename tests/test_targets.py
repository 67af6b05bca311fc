"""Target URLs: parsing, local and memory stores, secrets kept out of URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

import cloudmap
from cloudmap import stores
from cloudmap.errors import ConfigError, StoreError
from cloudmap.stores import LocalStore, MemoryStore
from cloudmap.targets import memory_store, open_store, parse_target
from tests.handles import handles_under, needs_proc


@pytest.mark.parametrize(
    ("url", "provider", "location", "prefix"),
    [
        ("s3://bucket", "s3", "bucket", ""),
        ("s3://bucket/runs/1/", "s3", "bucket", "runs/1/"),
        ("az://container/a%20b", "azure", "container", "a b/"),
        ("gs://bucket/p", "gcs", "bucket", "p/"),
        ("memory://name/x/y", "memory", "name", "x/y/"),
    ],
)
def test_cloud_urls_name_bucket_and_prefix(
    url: str, provider: str, location: str, prefix: str
) -> None:
    """A URL's host is the bucket and its path, with a trailing slash, the prefix."""
    target = parse_target(url)
    assert (target.provider, target.location, target.prefix) == (
        provider,
        location,
        prefix,
    )


def test_plain_paths_and_file_urls_open_a_local_store(tmp_path: Path) -> None:
    """A plain path and a file:// URL name the same LocalStore directory."""
    for target in (tmp_path / "d", f"file://{tmp_path}/d"):
        store, prefix = open_store(target, create=True)
        assert isinstance(store, LocalStore)
        assert store.root == (tmp_path / "d").resolve()
        assert prefix == ""
        store.close()


def test_file_url_options_reach_the_store(tmp_path: Path) -> None:
    """?fsync=false is accepted; a value that is not a boolean is a ConfigError."""
    store, _ = open_store(f"file://{tmp_path}/d?fsync=false&create=true")
    store.put("k", b"v")
    assert (tmp_path / "d" / "k").read_bytes() == b"v"
    with pytest.raises(ConfigError, match="not a boolean"):
        open_store(f"file://{tmp_path}/d?fsync=maybe")


def test_local_target_is_not_created_unless_asked(tmp_path: Path) -> None:
    """Without create, a missing directory is an error, and nothing is created."""
    with pytest.raises(Exception, match="does not exist"):
        open_store(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_memory_urls_share_a_registered_store() -> None:
    """memory://name returns the same MemoryStore every time for one name."""
    first, _ = open_store("memory://targets-test")
    second, _ = open_store("memory://targets-test/prefix")
    assert first is second is memory_store("targets-test")
    assert isinstance(first, MemoryStore)
    assert memory_store("targets-test-2") is not first


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unknown scheme"),
        ("s3://", "no bucket"),
        ("memory://", "no name"),
        ("s3://key:secret@bucket/p", "credentials do not belong in a URL"),
        ("s3://bucket?secret_key=abc123", "must be a \\$NAME reference"),
        ("az://c?connection_string=DefaultEndpoints", "must be a \\$NAME reference"),
        ("s3://bucket?colour=blue", "unknown option 'colour'"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    """Bad schemes, missing buckets, literal secrets and unknown options raise ConfigError."""
    with pytest.raises(ConfigError, match=message):
        open_store(url)


def test_literal_secret_is_not_echoed_in_the_error() -> None:
    """The error for a secret written in a URL does not repeat the secret."""
    with pytest.raises(ConfigError) as info:
        open_store("s3://bucket?secret_key=hunter2")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        open_store("s3://user:hunter2@bucket")
    assert "hunter2" not in str(info.value)


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A $NAME reference to an unset variable is a ConfigError naming the option."""
    monkeypatch.delenv("CLOUDMAP_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError, match=r"'secret_key'.*'CLOUDMAP_TEST_UNSET'"):
        open_store("s3://bucket?secret_key=$CLOUDMAP_TEST_UNSET")


def test_parsing_cloud_urls_imports_no_sdk() -> None:
    """Parsing and validating cloud URLs, in a fresh interpreter, loads no cloud SDK."""
    code = (
        "import sys\n"
        "from cloudmap.targets import parse_target\n"
        "for url in ('s3://b/p?region=x', 'az://c/p?account=a', 'gs://b/p?project=p'):\n"
        "    parse_target(url)\n"
        "print(sorted(m for m in ('boto3', 'azure', 'google.cloud') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://user:hunter2-SECRET@host/path?token=hunter2-SECRET",
        "s3://user:hunter2-SECRET@bucket/p",
        "s3://bucket/p?password=hunter2-SECRET",
        "az://container/p?sig=hunter2-SECRET",
        "gs://?token=hunter2-SECRET",
    ],
)
def test_url_errors_never_show_a_secret(url: str) -> None:
    """Errors for bad URLs show neither user:password@ nor secret query values."""
    with pytest.raises(ConfigError) as info:
        parse_target(url)
    assert "hunter2" not in str(info.value)


class _KeptLocal:
    """A provider opening real LocalStores, each kept reachable after use.

    As a cloud SDK client caught in reference cycles is kept: garbage
    collection then releases none of its handles, only `close()` does.
    """

    ini_providers = ("kept-filesystem",)
    ini_location = ("folder_path",)
    opened: ClassVar[list[LocalStore]] = []

    @classmethod
    def from_target(
        cls, location: str, arguments: dict[str, Any], *, create: bool, read_only: bool
    ) -> LocalStore:
        store = LocalStore(location, create=create, read_only=read_only, **arguments)
        cls.opened.append(store)
        return store


@needs_proc
def test_a_store_failing_to_open_closes_those_opened_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ini file's second store fails to open: the first is closed, the error kept."""
    monkeypatch.setitem(stores._REGISTRY, "kept", _KeptLocal)
    monkeypatch.setattr(_KeptLocal, "opened", [])
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.write_text("a file where a directory should be", encoding="utf-8")
    alone = tmp_path / "alone.ini"
    alone.write_text(f"[default]\nprovider = filesystem\nfolder_path = {second}\n")
    with pytest.raises(StoreError) as failed_alone:
        cloudmap.open(alone)
    both = tmp_path / "both.ini"
    both.write_text(
        "[default]\nproviders = first, second\n"
        f"[first]\nprovider = kept-filesystem\nfolder_path = {first}\n"
        f"[second]\nprovider = filesystem\nfolder_path = {second}\n"
    )
    with pytest.raises(StoreError) as failed:
        cloudmap.open(both)
    assert (type(failed.value), str(failed.value)) == (
        type(failed_alone.value),
        str(failed_alone.value),
    )
    assert [store.root for store in _KeptLocal.opened] == [first]
    assert handles_under(first) == 0
