"""The emulators are up and enforce the conditional writes cloudmap relies on."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.storage.blob import BlobServiceClient
from botocore.config import Config
from botocore.exceptions import ClientError
from google.api_core.exceptions import PreconditionFailed
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from devtools.emulators import (
    ENV_AZURE,
    ENV_GCS,
    ENV_S3,
    Emulator,
    EmulatorError,
    EmulatorPool,
    azurite_connection_string,
    is_ready,
    make_azure_container,
    make_gcs_bucket,
    make_s3_bucket,
    start_all,
    start_fake_gcs,
    unique_bucket_name,
)
from devtools.emulators._launch import launch
from devtools.emulators.fake_gcs import fake_gcs_binary

if TYPE_CHECKING:
    from pathlib import Path

VALID_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@pytest.mark.parametrize(
    "hint",
    ["", "test_x", "test_a[google-GOOG-1]", "Ü" * 10, "x" * 200, "--a--b--"],
)
def test_unique_bucket_name_is_valid_everywhere(hint: str) -> None:
    names = {unique_bucket_name(hint) for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert 3 <= len(name) <= 63
        assert VALID_NAME.match(name), name  # no double hyphen (Azure), ends alnum
        assert "goog" not in name


def test_environment_endpoints_are_reused_and_not_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_str = azurite_connection_string("http://127.0.0.1:1/devstoreaccount1")
    monkeypatch.setenv(ENV_S3, "http://127.0.0.1:1/")
    monkeypatch.setenv(ENV_AZURE, conn_str)
    monkeypatch.setenv(ENV_GCS, "http://127.0.0.1:2")
    found = start_all(tmp_path)
    assert found["s3"].url == "http://127.0.0.1:1"
    assert found["azure"].url == "http://127.0.0.1:1/devstoreaccount1"
    assert found["azure"].connection_string == conn_str
    assert found["gcs"].url == "http://127.0.0.1:2"
    assert not any(e.managed for e in found.values())
    for emulator in found.values():
        emulator.stop()  # a no-op
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_stop_ends_the_process(tmp_path: Path) -> None:
    emulator = start_fake_gcs(tmp_path)
    assert emulator.pid is not None
    assert emulator.alive()
    assert os.getpgid(emulator.pid) == emulator.pid  # its own process group
    emulator.stop()
    assert not emulator.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(emulator.pid, 0)
    emulator.stop()  # idempotent


def test_stop_by_pid_alone(tmp_path: Path) -> None:
    """What ``scripts/emulators.py stop`` does: only the saved pid is known."""
    started = start_fake_gcs(tmp_path)
    started.detach()
    assert started.pid is not None
    saved = Emulator.from_dict(started.to_dict())
    assert saved.alive()
    try:
        saved.stop()
        # The process is our child: reap it, as the CLI's init would.
        deadline = time.monotonic() + 5
        while os.waitpid(started.pid, os.WNOHANG) == (0, 0):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        if saved.alive():
            os.killpg(started.pid, signal.SIGKILL)
            os.waitpid(started.pid, 0)


def test_pool_starts_only_what_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (ENV_S3, ENV_AZURE, ENV_GCS):
        monkeypatch.delenv(name, raising=False)
    pool = EmulatorPool(tmp_path)
    try:
        gcs = pool["gcs"]
        assert pool["gcs"] is gcs
        assert [p.name.split("-")[0] for p in tmp_path.glob("*.log")] == ["gcs"]
        assert is_ready(gcs)
    finally:
        pool.stop()
    assert not gcs.alive()


def test_unknown_emulator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown emulators"):
        start_all(tmp_path, names=["s4"])


def test_a_failed_start_raises_with_the_log(tmp_path: Path) -> None:
    # fake-gcs-server refuses an unknown flag and exits at once.

    with pytest.raises(EmulatorError, match="exited with code") as info:
        launch(
            "gcs",
            [str(fake_gcs_binary(tmp_path)), "-no-such-flag"],
            workdir=tmp_path,
            port=1,
            url="http://127.0.0.1:1",
            ready_url="http://127.0.0.1:1/storage/v1/b",
            ready=lambda status: status == 200,
        )
    assert "no-such-flag" in str(info.value)  # the log tail is in the message


# ------------------------------------------------------------ against emulators


@pytest.mark.emulator
def test_s3_create_only_put_is_enforced(s3_endpoint: str, unique_name: str) -> None:

    make_s3_bucket(s3_endpoint, unique_name)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    try:
        first = client.put_object(
            Bucket=unique_name, Key="k", Body=b"1", IfNoneMatch="*"
        )
        with pytest.raises(ClientError) as info:
            client.put_object(Bucket=unique_name, Key="k", Body=b"2", IfNoneMatch="*")
        assert info.value.response["Error"]["Code"] == "PreconditionFailed"
        with pytest.raises(ClientError) as info:
            client.put_object(Bucket=unique_name, Key="k", Body=b"3", IfMatch='"nope"')
        assert info.value.response["Error"]["Code"] == "PreconditionFailed"
        client.put_object(Bucket=unique_name, Key="k", Body=b"4", IfMatch=first["ETag"])
        body = client.get_object(Bucket=unique_name, Key="k")["Body"]
        with body:
            assert body.read() == b"4"
    finally:
        client.close()


@pytest.mark.emulator
def test_azure_create_only_upload_is_enforced(
    azure_connection_string: str, unique_name: str
) -> None:

    make_azure_container(azure_connection_string, unique_name)
    with BlobServiceClient.from_connection_string(
        azure_connection_string, retry_total=0
    ) as service:
        blob = service.get_blob_client(unique_name, "k")
        first = blob.upload_blob(b"1", overwrite=False)
        with pytest.raises(ResourceExistsError):
            blob.upload_blob(b"2", overwrite=False)
        blob.upload_blob(
            b"3",
            overwrite=True,
            etag=first["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
        with pytest.raises(ResourceModifiedError):
            blob.upload_blob(
                b"4",
                overwrite=True,
                etag=first["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        assert blob.download_blob().readall() == b"3"


@pytest.mark.emulator
def test_gcs_create_only_upload_is_enforced(
    gcs_endpoint: str, unique_name: str
) -> None:

    make_gcs_bucket(gcs_endpoint, unique_name)
    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_endpoint},
    )
    try:
        blob = client.bucket(unique_name).blob("k")
        blob.upload_from_string(b"1", if_generation_match=0, retry=None)
        first = blob.generation
        assert first
        with pytest.raises(PreconditionFailed):
            blob.upload_from_string(b"2", if_generation_match=0, retry=None)
        blob.upload_from_string(b"3", if_generation_match=first, retry=None)
        with pytest.raises(PreconditionFailed):
            blob.upload_from_string(b"4", if_generation_match=first, retry=None)
        assert client.bucket(unique_name).blob("k").download_as_bytes() == b"3"
    finally:
        client.close()


@pytest.mark.emulator
def test_emulators_listen_on_loopback_only(emulators: dict[str, Emulator]) -> None:
    for emulator in emulators.values():
        assert emulator.url.startswith("http://127.0.0.1:"), emulator
        if emulator.managed:
            assert emulator.alive(), emulator


@pytest.mark.emulator
def test_s3_racing_creates_have_exactly_one_winner(
    s3_endpoint: str, unique_name: str
) -> None:
    """The single-threaded moto server makes check-and-write atomic."""
    make_s3_bucket(s3_endpoint, unique_name)
    writers, rounds = 6, 5
    clients = [
        boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        for _ in range(writers)
    ]
    barrier = threading.Barrier(writers)

    def create(client: Any, key: str) -> str:
        barrier.wait()
        try:
            client.put_object(Bucket=unique_name, Key=key, Body=b"x", IfNoneMatch="*")
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "won"

    try:
        with ThreadPoolExecutor(writers) as pool:
            for n in range(rounds):
                outcomes = list(pool.map(create, clients, [f"k{n}"] * writers))
                assert sorted(outcomes) == ["PreconditionFailed"] * (writers - 1) + [
                    "won"
                ], outcomes
    finally:
        for client in clients:
            client.close()
