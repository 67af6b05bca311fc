"""S3Store(engine="obstore"): what differs from the boto3 engine, on moto.

The store contract, races, request economy, large values and wire faults run
over both engines through the `s3_obstore` provider of tests/conftest.py; HTTP
requests counted on the wire, keys and listings obstore cannot name and the
boto3 fallbacks are in tests/test_obstore_engines.py (with Azure's); here are
the engine's configuration and error answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from benchmarks import engines
from cloudmap.config import read_config
from cloudmap.errors import (
    AccessDeniedError,
    ConfigError,
    ContainerNotFoundError,
    MissingCredentialsError,
    StoreError,
    TransientStoreError,
)
from cloudmap.providers import AWSS3Mapping
from cloudmap.stores.s3 import S3Store
from cloudmap.targets import open_store
from devtools.emulators import make_s3_bucket
from tests.fault_proxy import error_server
from tests.fixtures_s3 import MOTO_CREDENTIALS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.emulator


def _store(endpoint: str, bucket: str, engine: str = "obstore") -> S3Store:
    return S3Store(bucket, endpoint_url=endpoint, engine=engine, **MOTO_CREDENTIALS)


@pytest.fixture
def sdk(s3_endpoint: str, s3_bucket: str) -> Iterator[S3Store]:
    store = S3Store(s3_bucket, endpoint_url=s3_endpoint, **MOTO_CREDENTIALS)
    yield store
    store.close()


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
    assert not info.value.may_have_applied


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
    with error_server(status, code) as url, pytest.raises(error) as info:
        _store(url, "bucket").put("k", b"1", mode="create")
    assert type(info.value) is error
    assert info.value.__cause__ is not None


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
