"""S3Store(engine="obstore"): what differs from the boto3 engine, on moto.

The store contract, races, request economy, large values and wire faults run
over both engines through the `s3_obstore` provider of tests/conftest.py; here
are the engine's own paths: HTTP requests counted on the wire, keys and
listings obstore cannot name, the boto3 fallbacks and the configuration.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from benchmarks import engines
from cloudmap import CacheSpec, CloudMapping, codecs
from cloudmap.config import read_config
from cloudmap.errors import (
    AccessDeniedError,
    CodecError,
    ConfigError,
    ContainerNotFoundError,
    EtagMismatchError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.providers import AWSS3Mapping
from cloudmap.retry import outcome_unknown
from cloudmap.stores import Replace
from cloudmap.stores.s3 import S3Store
from cloudmap.targets import open_store
from tests.emulators import make_s3_bucket
from tests.fault_proxy import FaultProxy, WireFault
from tests.fixtures_s3 import MOTO_CREDENTIALS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.emulator

# Keys obstore would rewrite or refuse: they take the boto3 path, verbatim.
ODD_KEYS = ["a//b", "./dot", "x/../y", "tab\tkey"]


class Wire:
    """Every request a store sends, seen by a relaying proxy."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[tuple[str, str]] = []
        self.proxy = FaultProxy(upstream, self._record)

    def _record(self, method: str, path: str, n: int) -> WireFault | None:
        self.requests.append((method, path.split("?", maxsplit=1)[0]))
        return None

    def methods(self) -> list[str]:
        """The methods sent since the last call, then forget them."""
        seen = [method for method, _ in self.requests]
        self.requests.clear()
        return seen


@pytest.fixture
def wire(s3_endpoint: str) -> Iterator[Wire]:
    recorder = Wire(s3_endpoint)
    yield recorder
    recorder.proxy.close()


def _store(endpoint: str, bucket: str, engine: str = "obstore") -> S3Store:
    return S3Store(bucket, endpoint_url=endpoint, engine=engine, **MOTO_CREDENTIALS)


@pytest.fixture
def fast(wire: Wire, s3_bucket: str) -> Iterator[S3Store]:
    store = _store(wire.proxy.url, s3_bucket)
    yield store
    store.close()


@pytest.fixture
def sdk(s3_endpoint: str, s3_bucket: str) -> Iterator[S3Store]:
    store = S3Store(s3_bucket, endpoint_url=s3_endpoint, **MOTO_CREDENTIALS)
    yield store
    store.close()


def test_mapping_operations_are_one_request_each(fast: S3Store, wire: Wire) -> None:
    """Create, replace, read and delete each send exactly one HTTP request."""
    m: CloudMapping[bytes] = CloudMapping(fast)
    wire.methods()
    m["k"] = b"1"
    m["k"] = b"2"
    assert m["k"] == b"2"
    del m["k"]
    assert wire.methods() == ["PUT", "PUT", "GET", "DELETE"]


def test_cached_reread_is_one_request_answered_not_modified(
    fast: S3Store, wire: Wire
) -> None:
    """A cached value is revalidated in one GET, and 304 leaves the cache's copy."""
    m: CloudMapping[bytes] = CloudMapping(fast, cache=CacheSpec(max_items=10))
    m["k"] = b"v" * 1000
    assert m["k"] == b"v" * 1000
    wire.methods()
    etag = m.etags["k"]
    entry = fast.get("k", if_none_match=etag)
    assert entry is not None
    assert entry.not_modified
    assert entry.etag == etag
    assert m["k"] == b"v" * 1000
    assert wire.methods() == ["GET", "GET"]


def test_listing_takes_one_request_per_thousand_keys(
    fast: S3Store, sdk: S3Store, wire: Wire
) -> None:
    """sync_with_cloud over 1001 keys sends ceil(1001/1000) = 2 LIST requests."""
    CloudMapping[bytes](sdk, max_workers=16).set_many(
        {f"k{i:04}": b"v" for i in range(1001)}
    )
    wire.methods()
    m: CloudMapping[bytes] = CloudMapping(fast)
    assert len(m) == 1001
    assert wire.methods() == ["GET"] * math.ceil(1001 / 1000)


def test_metadata_round_trips_between_engines(fast: S3Store, sdk: S3Store) -> None:
    """Codec tags and user metadata written by one engine are read by the other."""
    written: CloudMapping[dict[str, int]] = CloudMapping(fast, codec=codecs.json())
    written["k"] = {"a": 1}
    entry = sdk.get("k")
    assert entry is not None
    assert entry.metadata["cloudmap-codec"] == "json"
    sdk.put("s", b"x", metadata={"cloudmap-codec": "json", "owner": "me"})
    got = fast.get("s")
    assert got is not None
    assert dict(got.metadata) == {"cloudmap-codec": "json", "owner": "me"}
    with pytest.raises(CodecError):
        CloudMapping[bytes](fast, codec=codecs.zlib())["k"]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_keys_obstore_would_rewrite_round_trip_verbatim(
    fast: S3Store, sdk: S3Store, key: str
) -> None:
    """Such keys go through boto3: stored, read, listed and deleted as written."""
    etag = fast.put(key, b"1", mode="create")
    entry = sdk.get(key)
    assert entry is not None
    assert entry.etag == etag
    assert [(k.key, k.etag) for k in fast.list()] == [(key, etag)]
    with pytest.raises(EtagMismatchError):
        fast.put(key, b"2", mode=Replace('"stale"'))
    fast.delete(key, if_match=etag)
    assert fast.get(key) is None


@pytest.mark.parametrize("key", ["/lead", "trail/"])
def test_keys_obstore_would_list_renamed_are_refused(fast: S3Store, key: str) -> None:
    """obstore lists "/k" and "k/" as "k": such keys are refused, never written."""
    with pytest.raises(ValueError, match="engine='boto3'"):
        fast.put(key, b"1")
    assert list(fast.list()) == []


def test_listing_under_a_partial_prefix_is_a_string_prefix(fast: S3Store) -> None:
    """`list("a")` finds "ab" and "a/k" (obstore alone lists path segments only)."""
    for key in ["a/k", "ab", "b"]:
        fast.put(key, b"1")
    assert sorted(k.key for k in fast.list("a")) == ["a/k", "ab"]
    assert [k.key for k in fast.list("a/")] == ["a/k"]


def test_listing_goes_on_past_a_key_obstore_cannot_name(
    fast: S3Store, sdk: S3Store
) -> None:
    """A bucket holding "x//y" (written by another tool) is listed in full."""
    keys = ["a", "b", "x//y", "z"]
    for key in keys:
        sdk.put(key, b"1")
    assert [k.key for k in fast.list()] == keys


def test_conditional_delete_sends_the_etag(fast: S3Store, sdk: S3Store) -> None:
    """obstore's delete takes no condition: ours goes through boto3 with If-Match."""
    etag = fast.put("k", b"1")
    with pytest.raises(EtagMismatchError):
        fast.delete("k", if_match='"stale"')
    assert sdk.get("k") is not None
    fast.delete("k", if_match=etag)
    assert sdk.get("k") is None


def test_missing_bucket_is_container_not_found(s3_endpoint: str) -> None:
    """Reads and writes of a missing bucket raise ContainerNotFoundError."""
    store = _store(s3_endpoint, "cm-no-such-bucket-obstore")
    with pytest.raises(ContainerNotFoundError):
        store.get("k")
    with pytest.raises(ContainerNotFoundError):
        store.put("k", b"1")


def test_unreachable_endpoint_is_transient_and_unsent() -> None:
    """A refused connection is a TransientStoreError that never reached a server."""
    store = _store("http://127.0.0.1:9", "bucket")
    with pytest.raises(TransientStoreError) as info:
        store.put("k", b"1", mode="create")
    assert not outcome_unknown(info.value)


def test_engine_from_url(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?engine=obstore` in a target URL selects the engine."""
    monkeypatch.setenv("CM_TEST_KEY", "testing")
    url = f"s3://{s3_bucket}?endpoint={s3_endpoint}&engine=obstore"
    url += "&region=us-east-1&access_key=$CM_TEST_KEY&secret_key=$CM_TEST_KEY"
    store, _ = open_store(url)
    assert isinstance(store, S3Store)
    assert store.engine == "obstore"
    store.close()


def test_unknown_engine_and_injected_client_are_config_errors(
    s3_endpoint: str, sdk: S3Store
) -> None:
    """An unknown engine, or obstore with a ready boto3 client, is refused."""
    with pytest.raises(ConfigError, match="boto3' or 'obstore'"):
        _store(s3_endpoint, "b", engine="rust")
    with pytest.raises(ConfigError, match="client="):
        S3Store("b", client=sdk.client, engine="obstore")


def test_missing_obstore_names_the_extra() -> None:
    """Without obstore installed, the engine names the `fast` extra."""
    code = (
        "import sys; sys.modules['obstore'] = None; sys.modules['obstore.store'] = None\n"
        "from cloudmap.stores.s3 import S3Store\n"
        "try:\n"
        "    S3Store('b', engine='obstore', region_name='us-east-1')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("MissingDependencyError")
    assert "[fast]" in out


def test_engine_from_ini(
    s3_endpoint: str,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`engine = obstore` in an ini provider section selects the engine."""
    monkeypatch.setenv("CM_TEST_KEY", "testing")
    ini = tmp_path / "store.ini"
    ini.write_text(
        "[default]\n"
        "provider = aws-s3\n"
        f"bucket_name = {s3_bucket}\n"
        "auth_type = access_key\n"
        "key_id = $CM_TEST_KEY\n"
        "key_secret = $CM_TEST_KEY\n"
        f"endpoint_url = {s3_endpoint}\n"
        "region = us-east-1\n"
        "engine = obstore\n"
    )
    (config,) = read_config(ini)
    store = config.open_store(create=False)
    assert isinstance(store, S3Store)
    assert store.engine == "obstore"
    store.put("k", b"1", mode="create")
    store.close()


class _Answer(BaseHTTPRequestHandler):
    """Answers every request with the status and S3 error code of the server."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        del format, args

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, code = self.server.answer  # type: ignore[attr-defined]
        body = f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (409, "ConditionalRequestConflict", TransientStoreError),
        (503, "SlowDown", TransientStoreError),
        (403, "AccessDenied", AccessDeniedError),
        (400, "InvalidArgument", StoreError),
    ],
)
def test_service_errors_are_translated(
    status: int, code: str, error: type[Exception]
) -> None:
    """S3's answers map as on the boto3 engine; a 409 race is retried, not a conflict."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.answer = (status, code)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = _store(f"http://127.0.0.1:{server.server_address[1]}", "bucket")
        with pytest.raises(error) as info:
            store.put("k", b"1", mode="create")
        assert type(info.value) is error
        assert info.value.__cause__ is not None
    finally:
        server.shutdown()
        server.server_close()


def test_aws_s3_mapping_on_the_obstore_engine(s3_endpoint: str, s3_bucket: str) -> None:
    """AWSS3Mapping(engine="obstore") round-trips a JSON value through obstore."""
    m: AWSS3Mapping[dict[str, int]] = AWSS3Mapping.with_json(
        s3_bucket, endpoint_url=s3_endpoint, engine="obstore", **MOTO_CREDENTIALS
    )
    m["k"] = {"a": 1}
    assert m["k"] == {"a": 1}
    assert "engine='obstore'" in repr(m.store)
    m.close()


def test_credentials_from_boto3s_chain(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without explicit keys the engine signs through boto3's chain (moto checks no signature)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    store = S3Store(
        s3_bucket, endpoint_url=s3_endpoint, region_name="us-east-1", engine="obstore"
    )
    etag = store.put("k", b"1", mode="create")
    entry = store.get("k")
    assert entry is not None
    assert entry.etag == etag
    store.close()


def test_no_credentials_anywhere_is_missing_credentials(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing in boto3's chain the engine says where it looked."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MissingCredentialsError, match="AWS_ACCESS_KEY_ID"):
        S3Store(
            "b", endpoint_url=s3_endpoint, region_name="us-east-1", engine="obstore"
        )


def test_endpoint_from_the_environment_is_obstores_too(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL_S3 sends both engines' requests to the same server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    store = S3Store(s3_bucket, engine="obstore", **MOTO_CREDENTIALS)
    etag = store.put("k", b"1", mode="create")
    assert [k.etag for k in store.list()] == [etag]
    store.delete("k", if_match=etag)
    store.close()


def test_engines_benchmark_runs_every_implementation(
    s3_endpoint: str, unique_name: str
) -> None:
    """benchmarks/engines.py measures each op of each implementation (3 keys)."""
    results = {}
    for number, (name, make) in enumerate(engines.IMPLS.items()):
        bucket = make_s3_bucket(s3_endpoint, f"{unique_name[:50]}-{number}")
        figures = engines.run_once(make(s3_endpoint, bucket), 3, 1)
        assert set(figures) == set(engines.OPS)
        assert all(cpu > 0 and wall > 0 for cpu, wall in figures.values())
        results[name] = {
            op: {"cpu_ms": cpu, "wall_ms": wall} for op, (cpu, wall) in figures.items()
        }
    assert "boto3/obstore CPU" in engines.table(results, 3)


@pytest.mark.parametrize("key", ["a b/é%20+?#", "pct%41", "x\\y", "ünï/ç*ö", "~!$&'()"])
def test_unusual_keys_are_the_same_on_both_engines(
    fast: S3Store, sdk: S3Store, key: str
) -> None:
    """Keys obstore can name are written, read and listed verbatim by either engine."""
    etag = fast.put(key, b"1", mode="create")
    entry = sdk.get(key, if_match=etag)
    assert entry is not None
    assert entry.data == b"1"
    assert [k.key for k in sdk.list()] == [key]
    assert [k.key for k in fast.list()] == [key]
    sdk.delete(key, if_match=etag)
    sdk.put(key, b"2")
    got = fast.get(key)
    assert got is not None
    assert got.data == b"2"
