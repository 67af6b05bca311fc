# Copyright (c) 2026 cloudmap developers. Licensed under the MIT License.
"""Pytest plugin: session-scoped storage emulators and per-test bucket names.

Loaded from ``tests/conftest.py``. The emulators start lazily, the first time a
test asks for one of these fixtures, and stop when the session ends; a failed
start is an error of every test that needs them (never a skip).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.emulators import Emulator, start_all, stop_all, unique_bucket_name

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def emulators(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Emulator]]:
    """The three emulators by name (``"s3"``, ``"azure"``, ``"gcs"``).

    ``CLOUDMAP_TEST_*`` environment variables point at already running ones.
    """
    started = start_all(tmp_path_factory.mktemp("emulators"))
    try:
        yield started
    finally:
        stop_all(started)


@pytest.fixture(scope="session")
def s3_endpoint(emulators: dict[str, Emulator]) -> str:
    """The S3 (moto, single-threaded) endpoint URL."""
    return emulators["s3"].url


@pytest.fixture(scope="session")
def azure_connection_string(emulators: dict[str, Emulator]) -> str:
    """The connection string of Azurite's development account."""
    conn_str = emulators["azure"].connection_string
    assert conn_str is not None
    return conn_str


@pytest.fixture(scope="session")
def gcs_endpoint(emulators: dict[str, Emulator]) -> str:
    """The GCS (fake-gcs-server) endpoint URL."""
    return emulators["gcs"].url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A fresh name valid as an S3 bucket, Azure container and GCS bucket."""
    return unique_bucket_name(request.node.name)
