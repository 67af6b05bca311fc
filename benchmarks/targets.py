"""What the benchmark compares, per store: cloudmap, the raw SDK, cloud-mappings.

Each `Target` gives three ways to do the same work against one bucket:

- `ours()`: a cloudmap `Store` (wrapped in a `CloudMapping` by the runner);
- `raw`: the raw SDK calls with the same server-side conditions (the floor);
- `peer()`: a cloud-mappings 2.1.0 mapping, or None where it cannot run.

Cloud endpoints are reached through a `LatencyProxy`, so every client pays the
same added round trip and its requests and bytes are counted alike.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.latency_proxy import LatencyProxy
from cloudmap.stores import Store

PEER_NOTE = "cloud-mappings is not installed (pip install cloud-mappings==2.1.0)"
CM_ETAG = "cloud-mappings-etag"


class RawOps(Protocol):
    """The raw SDK doing one conditional request per call."""

    def put(self, key: str, data: bytes, etag: str | None) -> str: ...
    def get(self, key: str, etag: str) -> bytes: ...
    def delete(self, key: str, etag: str) -> None: ...
    def seed(self, key: str, data: bytes) -> None: ...


@dataclass
class Target:
    """One store under test."""

    name: str
    ours: Callable[[], Store]
    raw: RawOps
    peer: Callable[[], MutableMapping[str, bytes]] | None
    peer_note: str = ""
    proxy: LatencyProxy | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop the proxy and the emulator started for this target."""
        for fn in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                fn()


def _peer_available() -> bool:
    try:
        import cloudmappings  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


# -- local ---------------------------------------------------------------------


class LocalRaw:
    """Plain files: write a temp file, fsync, rename; read; unlink (no etags)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, etag: str | None) -> str:  # noqa: ARG002 - same signature as the cloud ones
        path = self.root / key
        tmp = path.with_name(f".{key}.tmp")
        with tmp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(path)
        return ""

    def get(self, key: str, etag: str) -> bytes:  # noqa: ARG002 - same signature as the cloud ones
        return (self.root / key).read_bytes()

    def delete(self, key: str, etag: str) -> None:  # noqa: ARG002 - same signature as the cloud ones
        (self.root / key).unlink()

    def seed(self, key: str, data: bytes) -> None:
        self.put(key, data, None)


def local_target(workdir: Path, latency: float) -> Target:
    """LocalStore in a temp folder; no network, so no added latency."""
    from cloudmap.stores import LocalStore  # noqa: PLC0415

    root = workdir / f"local-{uuid.uuid4().hex[:8]}"
    store = LocalStore(root / "store")
    note = "cloud-mappings has no local store; raw = plain files (fsync + rename)"
    del latency
    return Target("local", lambda: store, LocalRaw(store.root), None, note)


# -- S3 (moto, threaded) ---------------------------------------------------------


def _start_moto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (workdir / "moto.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto did not start; see moto.log")


class S3Raw:
    """boto3 put/get/delete_object with IfMatch / IfNoneMatch."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes, etag: str | None) -> str:
        cond = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        out = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **cond)
        return str(out["ETag"])

    def get(self, key: str, etag: str) -> bytes:
        out = self.client.get_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        with contextlib.closing(out["Body"]) as body:
            return bytes(body.read())

    def delete(self, key: str, etag: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)

    def seed(self, key: str, data: bytes) -> None:
        # With the metadata cloud-mappings needs to list the key.
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, Metadata={CM_ETAG: uuid.uuid4().hex}
        )


def s3_target(workdir: Path, latency: float) -> Target:
    """moto's threaded server behind the latency proxy."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    proc, port = _start_moto(workdir)
    proxy = LatencyProxy("127.0.0.1", port, latency)
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    config = Config(max_pool_connections=32, retries={"max_attempts": 1})
    client = boto3.client(
        "s3", endpoint_url=proxy.url, region_name="us-east-1", config=config, **creds
    )
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    # cloud-mappings needs versioning and builds its own clients from the env.
    client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    os.environ.update(
        AWS_ENDPOINT_URL_S3=proxy.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto accepts any
        AWS_DEFAULT_REGION="us-east-1",
    )

    def ours() -> Store:
        from cloudmap.stores.s3 import S3Store  # noqa: PLC0415

        return S3Store(bucket, endpoint_url=proxy.url, region_name="us-east-1", **creds)

    def peer() -> MutableMapping[str, bytes]:
        from cloudmappings import AWSS3Storage  # noqa: PLC0415
        from cloudmappings.serialisers.core import none  # noqa: PLC0415

        storage = AWSS3Storage(bucket, silence_warning=True)
        mapping: MutableMapping[str, bytes] = storage.create_mapping(
            serialisation=none(), sync_initially=False
        )
        return mapping

    target = Target(
        "s3",
        ours,
        S3Raw(client, bucket),
        peer if _peer_available() else None,
        "" if _peer_available() else PEER_NOTE,
        proxy,
    )
    target.cleanup += [proc.kill, proxy.close, client.close]
    return target


# -- Azure (Azurite) and GCS (fake-gcs-server) ----------------------------------


class AzureRaw:
    """azure-storage-blob upload/download/delete with etag conditions."""

    def __init__(self, container: Any) -> None:
        self.container = container

    def put(self, key: str, data: bytes, etag: str | None) -> str:
        from azure.core import MatchConditions  # noqa: PLC0415

        # BlobClient.upload_blob returns the properties; ContainerClient's a client.
        blob = self.container.get_blob_client(key)
        if etag is None:
            out = blob.upload_blob(data, overwrite=False)
        else:
            out = blob.upload_blob(
                data,
                overwrite=True,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        return str(out["etag"])

    def get(self, key: str, etag: str) -> bytes:
        from azure.core import MatchConditions  # noqa: PLC0415

        stream = self.container.download_blob(
            key, etag=etag, match_condition=MatchConditions.IfNotModified
        )
        return bytes(stream.readall())

    def delete(self, key: str, etag: str) -> None:
        from azure.core import MatchConditions  # noqa: PLC0415

        self.container.delete_blob(
            key, etag=etag, match_condition=MatchConditions.IfNotModified
        )

    def seed(self, key: str, data: bytes) -> None:
        self.container.upload_blob(key, data, overwrite=True)


class GCSRaw:
    """google-cloud-storage uploads/downloads/deletes with generation conditions."""

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket

    def put(self, key: str, data: bytes, etag: str | None) -> str:
        blob = self.bucket.blob(key)
        blob.upload_from_string(data, if_generation_match=int(etag) if etag else 0)
        return str(blob.generation)

    def get(self, key: str, etag: str) -> bytes:
        data: bytes = self.bucket.blob(key).download_as_bytes(
            if_generation_match=int(etag)
        )
        return data

    def delete(self, key: str, etag: str) -> None:
        self.bucket.blob(key).delete(if_generation_match=int(etag))

    def seed(self, key: str, data: bytes) -> None:
        self.bucket.blob(key).upload_from_string(data)


def azure_target(workdir: Path, latency: float) -> Target:
    """Azurite (from devtools/emulators/) behind the latency proxy."""
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415

    from devtools.emulators import azurite_connection_string, start_azurite  # noqa: PLC0415

    emulator = start_azurite(workdir)
    port = int(emulator.url.split(":")[2].split("/")[0])
    proxy = LatencyProxy("127.0.0.1", port, latency)
    conn = azurite_connection_string(emulator.url.replace(str(port), str(proxy.port)))
    service = BlobServiceClient.from_connection_string(conn)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    container = service.create_container(name)

    def ours() -> Store:
        from cloudmap.stores.azure import AzureBlobStore  # noqa: PLC0415

        return AzureBlobStore(name, connection_string=conn)

    def peer() -> MutableMapping[str, bytes]:
        from cloudmappings import AzureBlobStorage  # noqa: PLC0415
        from cloudmappings.serialisers.core import none  # noqa: PLC0415

        mapping: MutableMapping[str, bytes] = AzureBlobStorage(
            name, connection_string=conn
        ).create_mapping(serialisation=none(), sync_initially=False)
        return mapping

    target = Target(
        "azure",
        ours,
        AzureRaw(container),
        peer if _peer_available() else None,
        "" if _peer_available() else PEER_NOTE,
        proxy,
    )
    target.cleanup += [emulator.stop, proxy.close, service.close]
    return target


def gcs_target(workdir: Path, latency: float) -> Target:
    """fake-gcs-server (from devtools/emulators/) behind the latency proxy."""
    from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415
    from google.cloud import storage  # noqa: PLC0415

    from devtools.emulators import start_fake_gcs  # noqa: PLC0415

    emulator = start_fake_gcs(workdir)
    port = int(emulator.url.rsplit(":", 1)[1].split("/")[0])
    proxy = LatencyProxy("127.0.0.1", port, latency)
    os.environ["STORAGE_EMULATOR_HOST"] = proxy.url
    client = storage.Client(
        project="bench",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": proxy.url},
    )
    name = f"bench-{uuid.uuid4().hex[:8]}"
    bucket = client.create_bucket(name)

    def ours() -> Store:
        from cloudmap.stores.gcs import GCSStore  # noqa: PLC0415

        return GCSStore(name, endpoint_url=proxy.url, project="bench")

    def peer() -> MutableMapping[str, bytes]:
        from cloudmappings import GoogleCloudStorage  # noqa: PLC0415
        from cloudmappings.serialisers.core import none  # noqa: PLC0415

        mapping: MutableMapping[str, bytes] = GoogleCloudStorage(
            name, project="bench", credentials=AnonymousCredentials()
        ).create_mapping(serialisation=none(), sync_initially=False)
        return mapping

    target = Target(
        "gcs",
        ours,
        GCSRaw(bucket),
        peer if _peer_available() else None,
        "" if _peer_available() else PEER_NOTE,
        proxy,
    )
    target.cleanup += [emulator.stop, proxy.close]
    return target


MAKERS: dict[str, Callable[[Path, float], Target]] = {
    "local": local_target,
    "s3": s3_target,
    "azure": azure_target,
    "gcs": gcs_target,
}
