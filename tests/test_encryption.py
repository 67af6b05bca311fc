"""AES-256-GCM values: round trips, key rotation, tampering, rekey, ini sections."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cloudmap
from cloudmap import CloudMapping
from cloudmap.codecs import (
    CODEC_METADATA_KEY,
    KEY_ID_METADATA_KEY,
    Codec,
    encrypted,
    json,
    pickle,
    raw,
    zstd,
)
from cloudmap.config import read_config
from cloudmap.errors import CodecError, ConfigError
from cloudmap.rekey import rekey
from cloudmap.stores import LocalStore, MemoryStore, Store
from cloudmap.testing import Call, FaultyStore
from tests.test_cli import cli

OLD, NEW = os.urandom(32), os.urandom(32)
ROOT = Path(__file__).resolve().parents[1]


def codec(keys: dict[str, Any] | None = None, base: Codec | None = None) -> Codec:
    return (base or pickle()) | encrypted(keys or {"k1": OLD})


def test_round_trip_and_random_nonce() -> None:
    """A value decrypts under its key; two encryptions of it never repeat."""
    c = codec()
    first, second = c.dumps({"a": 1}, key="k"), c.dumps({"a": 1}, key="k")
    assert first != second
    assert len(first) == len(second)
    assert c.loads(first, key="k") == c.loads(second, key="k") == {"a": 1}


def test_on_every_store(store: Store) -> None:
    """Through a mapping, on every store: round trip, key id in metadata, tag."""
    writer = CloudMapping[Any](store, codec=codec(base=json() | zstd()))
    writer["doc"] = {"secret": "x" * 100}
    entry = store.get("doc")
    assert entry is not None
    assert b"secret" not in entry.data
    assert entry.metadata[KEY_ID_METADATA_KEY] == "k1"
    assert entry.metadata[CODEC_METADATA_KEY] == "json|zstd|aes256gcm"
    assert CloudMapping[Any](store, codec=writer.codec)["doc"] == {"secret": "x" * 100}


def _plant(store: Store, key: str, data: bytes, metadata: dict[str, str]) -> None:
    store.put(key, data, metadata=metadata)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-1],
        lambda d: d[: len(d) // 2],
        lambda d: d[:3],
        lambda _: b"",
        lambda d: d[:-1] + bytes([d[-1] ^ 1]),
        lambda d: d[:20] + bytes([d[20] ^ 0x80]) + d[21:],
        lambda d: d[:4] + bytes([d[4] ^ 1]) + d[5:],  # the key id in the header
        lambda d: d + b"\x00",
    ],
    ids=[
        "last-byte",
        "half",
        "header",
        "empty",
        "tag",
        "ciphertext",
        "key-id",
        "longer",
    ],
)
def test_tampered_or_truncated_values_raise(store: Store, damage: Any) -> None:
    """A changed, cut or lengthened value raises CodecError naming the key, never garbage."""
    m = CloudMapping[Any](store, codec=codec())
    m["k"] = "value"
    entry = store.get("k")
    assert entry is not None
    _plant(store, "k", damage(entry.data), dict(entry.metadata))
    with pytest.raises(CodecError, match="'k'"):
        CloudMapping[Any](store, codec=codec())["k"]


def test_value_copied_under_another_key_fails(store: Store) -> None:
    """The key is bound in: the same bytes and metadata under another key fail."""
    CloudMapping[Any](store, codec=codec())["alice"] = "alice's"
    entry = store.get("alice")
    assert entry is not None
    _plant(store, "bob", entry.data, dict(entry.metadata))
    reader = CloudMapping[Any](store, codec=codec())
    assert reader["alice"] == "alice's"
    with pytest.raises(CodecError, match=r"'bob'.*authentication failed"):
        reader["bob"]


def test_prefix_is_not_bound(tmp_path: Path) -> None:
    """A copy to another bucket or prefix still decrypts: the mapping's key is bound."""
    store = LocalStore(tmp_path)
    CloudMapping[Any](store, codec=codec(), key_prefix="a/")["k"] = 1
    entry = store.get("a/k")
    assert entry is not None
    store.put("b/k", entry.data, metadata=dict(entry.metadata))
    assert CloudMapping[Any](store, codec=codec(), key_prefix="b/")["k"] == 1


def test_wrong_or_missing_key(store: Store) -> None:
    """Another key under the same id, or no key for the stored id, raises CodecError."""
    CloudMapping[Any](store, codec=codec())["k"] = "v"
    with pytest.raises(CodecError, match=r"'k'.*authentication failed"):
        CloudMapping[Any](store, codec=codec({"k1": NEW}))["k"]
    with pytest.raises(CodecError, match=r"'k'.*key id 'k1', not one of: k2"):
        CloudMapping[Any](store, codec=codec({"k2": NEW}))["k"]


def test_rotation_reads_old_and_writes_new(store: Store) -> None:
    """With the new key first, old values still read and new writes use the new id."""
    CloudMapping[Any](store, codec=codec())["old"] = 1
    rotated = CloudMapping[Any](store, codec=codec({"k2": NEW, "k1": OLD}))
    assert rotated["old"] == 1
    rotated["new"] = 2
    entry = store.get("new")
    assert entry is not None
    assert entry.metadata[KEY_ID_METADATA_KEY] == "k2"
    with pytest.raises(CodecError, match="'new'"):
        CloudMapping[Any](store, codec=codec())["new"]


def test_metadata_naming_another_key_id_is_refused(store: Store) -> None:
    """Metadata that contradicts the authenticated header raises CodecError."""
    CloudMapping[Any](store, codec=codec())["k"] = 1
    entry = store.get("k")
    assert entry is not None
    _plant(store, "k", entry.data, {**entry.metadata, KEY_ID_METADATA_KEY: "k2"})
    with pytest.raises(CodecError, match="metadata names key id 'k2'"):
        CloudMapping[Any](store, codec=codec({"k1": OLD, "k2": NEW}))["k"]


def test_metadata_lost_in_a_copy_still_decrypts() -> None:
    """The key id travels in the header too, so a value without metadata decrypts."""
    c = codec()
    assert c.loads(c.dumps(5, key="k"), key="k", metadata={}) == 5


def test_tag_mismatch(store: Store) -> None:
    """Another chain, encrypted or not, refuses the value by its tag."""
    CloudMapping[Any](store, codec=codec())["k"] = 1
    for other in (codec(base=json()), pickle(), raw() | encrypted({"k1": OLD})):
        with pytest.raises(CodecError, match=r"'k'.*written with codec"):
            CloudMapping[Any](store, codec=other)["k"]


def test_keyed_codec_needs_the_key() -> None:
    """Outside a mapping, dumps and loads need key=."""
    with pytest.raises(CodecError, match="pass key="):
        codec().dumps(1)
    with pytest.raises(CodecError, match="pass key="):
        codec().loads(b"x")


def test_keys_never_show() -> None:
    """No repr, str or error shows a key, raw or base64."""
    secret = os.urandom(32)
    c = codec({"k1": secret})
    m = CloudMapping[Any](MemoryStore(), codec=c)
    texts = [repr(c), str(c), repr(m), repr(c.steps[-1])]
    for bad in (secret[:16], b"\x00" * 31, "not base64!"):
        with pytest.raises(ValueError) as info:
            encrypted({"k1": bad})
        texts.append(str(info.value))
    for text in texts:
        assert base64.b64encode(secret).decode() not in text
        assert repr(secret)[2:-1] not in text
        assert "not base64!" not in text
    assert "k1" in repr(c)


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        ({}, "at least one key"),
        ({"k1": os.urandom(16)}, "16 bytes; AES-256 needs 32"),
        ({"k1": "%%%"}, "not valid base64"),
        ({"bad id": os.urandom(32)}, "key id 'bad id'"),
        ({"x" * 65: os.urandom(32)}, "1 to 64 characters"),
    ],
)
def test_bad_keys_are_refused(keys: dict[str, Any], match: str) -> None:
    """Empty key sets, wrong sizes, bad base64 and odd key ids are refused."""
    with pytest.raises(ValueError, match=match):
        encrypted(keys)


def test_base64_keys_are_accepted() -> None:
    """A key may be given as its base64 text."""
    text = base64.b64encode(OLD).decode()
    value = codec({"k1": OLD}).dumps(1, key="k")
    assert codec({"k1": text}).loads(value, key="k") == 1


def test_missing_cryptography_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without cryptography, encrypted() raises ImportError naming the extra."""
    monkeypatch.setitem(
        sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None
    )
    with pytest.raises(ImportError, match=r'pip install "cloudmap-dict\[crypto\]"'):
        encrypted({"k1": OLD})


# -- property-based ----------------------------------------------------------------


@settings(max_examples=200)
@given(data=st.binary(max_size=2000), key=st.text(min_size=1, max_size=40))
def test_any_bytes_under_any_key_round_trip(data: bytes, key: str) -> None:
    """Any plaintext under any key decrypts to itself."""
    c = raw() | encrypted({"k1": OLD})
    assert c.loads(c.dumps(data, key=key), key=key) == data


@settings(max_examples=300)
@given(
    data=st.binary(max_size=200),
    position=st.integers(min_value=0),
    flip=st.integers(1, 255),
    cut=st.integers(min_value=1),
)
def test_any_flip_or_cut_raises(
    data: bytes, position: int, flip: int, cut: int
) -> None:
    """Flipping any bit pattern of any byte, or cutting any tail, raises CodecError."""
    c = raw() | encrypted({"k1": OLD})
    sealed = c.dumps(data, key="k")
    i = position % len(sealed)
    flipped = sealed[:i] + bytes([sealed[i] ^ flip]) + sealed[i + 1 :]
    for bad in (flipped, sealed[: max(0, len(sealed) - cut)]):
        with pytest.raises(CodecError):
            c.loads(bad, key="k")


@settings(max_examples=200)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_codec_error(data: bytes) -> None:
    """Any stored bytes decrypt to a value or raise CodecError, nothing else."""
    with contextlib.suppress(CodecError):
        (raw() | encrypted({"k1": OLD})).loads(data, key="k")


# -- rekey ---------------------------------------------------------------------------


def test_rekey_moves_every_value_to_the_current_key(store: Store) -> None:
    """rekey re-encrypts old values under the new key, keeps values, and resumes."""
    old = CloudMapping[Any](store, codec=codec(), key_prefix="p/")
    for i in range(5):
        old[f"k{i}"] = {"i": i}
    rotated = codec({"k2": NEW, "k1": OLD})
    CloudMapping[Any](store, codec=rotated, key_prefix="p/")["fresh"] = "new"
    totals: list[int] = []
    steps: list[None] = []
    report = rekey(
        store,
        encrypted({"k2": NEW, "k1": OLD}),
        prefix="p/",
        on_total=totals.append,
        on_progress=lambda: steps.append(None),
    )
    assert report.rekeyed == [f"k{i}" for i in range(5)]
    assert report.current == ["fresh"]
    assert not report.failed
    assert totals == [6]
    assert len(steps) == 6
    only_new = CloudMapping[Any](store, codec=codec({"k2": NEW}), key_prefix="p/")
    assert {k: only_new[k] for k in only_new} == {
        **{f"k{i}": {"i": i} for i in range(5)},
        "fresh": "new",
    }
    entry = store.get("p/k0")
    assert entry is not None
    assert entry.metadata[KEY_ID_METADATA_KEY] == "k2"
    assert entry.metadata[CODEC_METADATA_KEY] == "pickle|aes256gcm"
    again = rekey(store, encrypted({"k2": NEW, "k1": OLD}), prefix="p/")
    assert (again.rekeyed, len(again.current)) == ([], 6)


def test_rekey_never_overwrites_a_concurrent_write() -> None:
    """A value changed between rekey's read and write is reported, not overwritten."""
    inner = MemoryStore()
    CloudMapping[Any](inner, codec=codec())["k"] = "old"
    writer = CloudMapping[Any](inner, codec=codec())

    def race(call: Call) -> None:
        if call == Call("put", "k", 0):
            writer["k"] = "theirs"

    report = rekey(FaultyStore(inner, race), encrypted({"k2": NEW, "k1": OLD}))
    assert list(report.failed) == ["k"]
    assert "EtagMismatchError" in report.failed["k"]
    assert CloudMapping[Any](inner, codec=codec())["k"] == "theirs"


def test_rekey_reports_values_it_cannot_decrypt() -> None:
    """A value under an unknown key id is a failure with the reason, others proceed."""
    store = MemoryStore()
    CloudMapping[Any](store, codec=codec({"lost": os.urandom(32)}))["a"] = 1
    CloudMapping[Any](store, codec=codec())["b"] = 2
    report = rekey(store, encrypted({"k2": NEW, "k1": OLD}))
    assert report.rekeyed == ["b"]
    assert "key id 'lost'" in report.failed["a"]


def test_rekey_needs_an_encryption_codec() -> None:
    """rekey with a codec that does not encrypt is refused."""
    with pytest.raises(ValueError, match="encrypted"):
        rekey(MemoryStore(), json())


# -- ini files and the CLI ---------------------------------------------------------


def _ini(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "shelf.ini"
    path.write_text(
        f"[default]\nprovider = filesystem\nfolder_path = {tmp_path / 'data'}\n{body}"
    )
    return path


def test_ini_compression_and_encryption_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[compression] algorithm = zstd and [encryption] key = $VAR build the chain."""
    monkeypatch.setenv("CLOUDMAP_KEY", base64.b64encode(OLD).decode())
    path = _ini(
        tmp_path,
        "[compression]\nalgorithm = zstd\nlevel = 5\n[encryption]\nkey = $CLOUDMAP_KEY\n",
    )
    with cloudmap.open(path) as shelf:
        shelf["k"] = {"a": 1}
    store = LocalStore(tmp_path / "data")
    entry = store.get("k")
    assert entry is not None
    assert entry.metadata[CODEC_METADATA_KEY] == "pickle|zstd|aes256gcm"
    assert entry.metadata[KEY_ID_METADATA_KEY] == "default"
    reader = CloudMapping[Any](store, codec=codec({"default": OLD}, pickle() | zstd()))
    assert reader["k"] == {"a": 1}
    assert OLD.hex() not in repr(read_config(path))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("[compression]\nalgorithm = lz4\n", "algorithm: 'lz4'.*zlib or zstd"),
        ("[compression]\nalgorithm = zstd\nlevel = 30\n", "level: '30'.*1 to 22"),
        ("[encryption]\nkey = c2VjcmV0\n", r"key: must be a \$NAME"),
        ("[encryption]\nkey = $NOT_SET_ANYWHERE\n", "'NOT_SET_ANYWHERE' is not set"),
        ("[encryption]\nkey = $SHORT_KEY\n", "key 'default' has 6 bytes"),
        ("[encryption]\nkeys = a, b\nkey.a = $SHORT_KEY\n", r"key\.b: missing"),
        ("[encryption]\nalgorithm = aes256gcm\n", r"key: missing"),
        ("[encryption]\nkeys = ,\n", "lists no key id"),
        ("[encryption]\nenvironment_key = K\n", "environment_key: unknown option"),
        ("[encryption]\nalgorithm = aes128\nkey = $SHORT_KEY\n", "'aes128'"),
    ],
)
def test_ini_mistakes_name_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, match: str
) -> None:
    """Bad codec sections raise ConfigError naming the option, never echoing a key."""
    monkeypatch.setenv("SHORT_KEY", "c2VjcmV0")
    with pytest.raises(ConfigError, match=match) as info:
        read_config(_ini(tmp_path, body))
    assert "c2VjcmV0" not in str(info.value)
    assert "secret" not in str(info.value)


def test_ini_missing_extra_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zstd section without zstandard installed names the extra in a ConfigError."""
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ConfigError, match=r"cloudmap-dict\[zstd\]"):
        read_config(_ini(tmp_path, "[compression]\nalgorithm = zstd\n"))


def _cli(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    result = cli(env, *args)
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def test_cli_rekey(tmp_path: Path) -> None:
    """`cloudmap rekey INI` re-encrypts under the first listed key, then finds nothing to do."""
    store = LocalStore(tmp_path / "data")
    old = CloudMapping[Any](store, codec=codec())
    for i in range(3):
        old[f"k{i}"] = i
    path = _ini(
        tmp_path,
        "[encryption]\nkeys = k2, k1\nkey.k2 = $NEW_KEY\nkey.k1 = $OLD_KEY\n",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEW_KEY": base64.b64encode(NEW).decode(),
        "OLD_KEY": base64.b64encode(OLD).decode(),
    }
    first = _cli(env, "rekey", path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "rekeyed 3, already current 0, failed 0"
    assert env["NEW_KEY"] not in first.stdout + first.stderr
    only_new = CloudMapping[Any](store, codec=codec({"k2": NEW}))
    assert [only_new[f"k{i}"] for i in range(3)] == [0, 1, 2]
    second = _cli(env, "--json", "rekey", path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == '{"rekeyed": 0, "current": 3, "failed": {}}'


def test_cli_rekey_errors_are_one_line(tmp_path: Path) -> None:
    """rekey without an [encryption] section, or on a URL, exits 2 with one line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for target in (_ini(tmp_path, ""), tmp_path / "dir"):
        result = _cli(env, "rekey", target)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert "encryption" in result.stderr


def test_cli_rekey_failures_exit_5(tmp_path: Path) -> None:
    """A value rekey cannot decrypt is listed on stderr and the exit code is 5."""
    store = LocalStore(tmp_path / "data")
    CloudMapping[Any](store, codec=codec({"gone": os.urandom(32)}))["lost"] = 1
    path = _ini(tmp_path, "[encryption]\nkey = $OLD_KEY\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OLD_KEY": base64.b64encode(OLD).decode(),
    }
    result = _cli(env, "rekey", path)
    assert result.returncode == 5
    assert "lost" in result.stderr
    assert "key id 'gone'" in result.stderr


def test_shelf_writeback_writes_only_changed_encrypted_values(tmp_path: Path) -> None:
    """Writeback detects changes despite random nonces: unchanged values stay put."""
    chain = codec()
    with cloudmap.open(tmp_path / "s", codec=chain) as shelf:
        shelf["same"] = [1]
        shelf["changed"] = [1]
    store = LocalStore(tmp_path / "s")
    before = {item.key: item.etag for item in store.list()}
    with cloudmap.open(tmp_path / "s", codec=chain, writeback=True) as shelf:
        assert shelf["same"] == [1]
        shelf["changed"].append(2)
    after = {item.key: item.etag for item in store.list()}
    assert after["same"] == before["same"]
    assert after["changed"] != before["changed"]
    assert CloudMapping[Any](store, codec=chain)["changed"] == [1, 2]


def test_bulk_writes_from_many_threads() -> None:
    """set_many and get_many encrypt and decrypt in parallel threads correctly."""
    m = CloudMapping[Any](MemoryStore(), codec=codec(), max_workers=8)
    items = {f"k{i}": {"i": i, "pad": "x" * i} for i in range(200)}
    m.set_many(items)
    assert CloudMapping[Any](m.store, codec=codec()).get_many(items) == items


def test_replicas_with_their_own_keys_agree() -> None:
    """Replicas encrypt under their own keys; lagging() compares decrypted values."""
    primary = CloudMapping[Any](MemoryStore(), codec=codec({"p": OLD}))
    backup = CloudMapping[Any](MemoryStore(), codec=codec({"b": NEW}))
    replicated = cloudmap.ReplicatedMapping([primary, backup])
    replicated["k"] = [1, 2]
    assert replicated.lagging() == {}
    first, second = primary.store.get("k"), backup.store.get("k")
    assert first is not None
    assert second is not None
    assert first.data != second.data
    assert replicated["k"] == [1, 2]


def test_ini_sections_per_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[name.compression] and [name.encryption] apply to that provider only."""
    monkeypatch.setenv("BACKUP_KEY", base64.b64encode(NEW).decode())
    path = tmp_path / "replicated.ini"
    path.write_text(
        "[default]\nproviders = main, backup\n"
        f"[main]\nprovider = filesystem\nfolder_path = {tmp_path / 'main'}\n"
        f"[backup]\nprovider = filesystem\nfolder_path = {tmp_path / 'backup'}\n"
        "[backup.compression]\nalgorithm = zstd\n"
        "[backup.encryption]\nkeys = b1\nkey.b1 = $BACKUP_KEY\n"
    )
    main, backup = read_config(path)
    assert main.codec(pickle()).name == "pickle"
    assert backup.codec(pickle()).name == "pickle|zstd|aes256gcm"
    with cloudmap.open(path) as shelf:
        shelf["k"] = "v"
    entry = LocalStore(tmp_path / "backup").get("k")
    assert entry is not None
    assert entry.metadata[KEY_ID_METADATA_KEY] == "b1"
