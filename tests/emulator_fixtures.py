"""Pytest plugin: session-scoped storage emulators and per-test bucket names.

Loaded from ``tests/conftest.py``. Each emulator starts lazily, the first time a
test asks for it (``emulators`` starts all three at once), and all stop when the
session ends. A failed start is an error of every test that needs that emulator,
never a skip.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import pytest

from devtools.emulators import Emulator, EmulatorPool, unique_bucket_name

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def emulator_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorPool]:
    """Starts each emulator the first time a test needs it; stops all at the end.

    ``CLOUDMAP_TEST_*`` environment variables point at already running ones.
    """
    # A CI runner that cancels a job sends SIGTERM, which would end Python
    # without teardown or atexit: turn it into Ctrl-C so the emulators stop.
    previous = None
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        previous = signal.signal(signal.SIGTERM, _interrupt)
    pool = EmulatorPool(tmp_path_factory.mktemp("emulators"))
    try:
        yield pool
    finally:
        pool.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def emulators(emulator_pool: EmulatorPool) -> dict[str, Emulator]:
    """All three emulators by name (``"s3"``, ``"azure"``, ``"gcs"``)."""
    return emulator_pool.get()


@pytest.fixture(scope="session")
def s3_endpoint(emulator_pool: EmulatorPool) -> str:
    """The S3 (moto, single-threaded) endpoint URL."""
    return emulator_pool["s3"].url


@pytest.fixture(scope="session")
def azure_connection_string(emulator_pool: EmulatorPool) -> str:
    """The connection string of Azurite's development account."""
    conn_str = emulator_pool["azure"].connection_string
    assert conn_str is not None
    return conn_str


@pytest.fixture(scope="session")
def gcs_endpoint(emulator_pool: EmulatorPool) -> str:
    """The GCS (fake-gcs-server) endpoint URL."""
    return emulator_pool["gcs"].url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A fresh name valid as an S3 bucket, Azure container and GCS bucket."""
    return unique_bucket_name(request.node.name)
