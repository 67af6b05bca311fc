"""Azure Blob Storage: Azurite, installed from npm into a cache directory."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from pathlib import Path

from devtools.emulators._launch import READY_TIMEOUT, launch, log_tail, with_free_port
from devtools.emulators._process import DEFAULT_CACHE_DIR, HOST, Emulator, EmulatorError

AZURITE_VERSION = "3.37.0"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, in Azurite's README).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)
ENV_AZURITE_DIR = "CLOUDMAP_AZURITE_DIR"
NPM_TIMEOUT = 300.0


def azurite_connection_string(blob_endpoint: str) -> str:
    """The connection string of Azurite's development account at ``blob_endpoint``."""
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={blob_endpoint};"
    )


def _azurite_main(cache_dir: Path) -> Path:
    return cache_dir / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"


def _azurite_installed(cache_dir: Path) -> bool:
    package_json = cache_dir / "node_modules" / "azurite" / "package.json"
    if not _azurite_main(cache_dir).exists() or not package_json.exists():
        return False
    try:
        version = json.loads(package_json.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(version == AZURITE_VERSION)


def install_azurite(cache_dir: Path | None = None) -> Path:
    """``npm install azurite@AZURITE_VERSION`` into ``cache_dir`` unless there already.

    Args:
        cache_dir: defaults to ``$CLOUDMAP_AZURITE_DIR`` if set (one install
            shared by several checkouts, or cached by CI), else
            ``<repo>/.emulators/azurite`` (gitignored).

    Returns:
        The path of Azurite's blob ``main.js``.

    Raises:
        EmulatorError: npm is missing or the install failed.
    """
    if cache_dir is None:
        env_dir = os.environ.get(ENV_AZURITE_DIR)
        cache_dir = Path(env_dir) if env_dir else DEFAULT_CACHE_DIR / "azurite"
    cache_dir.mkdir(parents=True, exist_ok=True)
    main_js = _azurite_main(cache_dir)
    if _azurite_installed(cache_dir):
        return main_js
    # Another process (a parallel test run) may be installing: take turns.
    with (cache_dir / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _azurite_installed(cache_dir):
            return main_js
        _npm_install(cache_dir)
        if not _azurite_installed(cache_dir):
            raise EmulatorError(
                f"npm install finished but {main_js} is missing; "
                f"log {cache_dir / 'npm-install.log'}:\n"
                f"{log_tail(cache_dir / 'npm-install.log')}"
            )
    return main_js


def _npm_install(cache_dir: Path) -> None:
    package_json = cache_dir / "package.json"
    if not package_json.exists():
        # Without one npm walks up and installs into a parent's node_modules.
        package_json.write_text(
            json.dumps({"name": "cloudmap-emulators", "private": True}) + "\n"
        )
    log_path = cache_dir / "npm-install.log"
    command = [
        "npm",
        "install",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--loglevel=error",
        f"azurite@{AZURITE_VERSION}",
    ]
    try:
        with log_path.open("wb") as log:
            subprocess.run(
                command,
                cwd=cache_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=NPM_TIMEOUT,
            )
    except (OSError, subprocess.SubprocessError) as error:
        raise EmulatorError(
            f"`{' '.join(command)}` in {cache_dir} failed: {error}; "
            f"log {log_path}:\n{log_tail(log_path)}"
        ) from error


def start_azurite(
    workdir: Path,
    *,
    cache_dir: Path | None = None,
    timeout: float = READY_TIMEOUT,
) -> Emulator:
    """Start Azurite's blob service (installing it first if needed)."""
    main_js = install_azurite(cache_dir)

    def start(port: int) -> Emulator:
        blob_endpoint = f"http://{HOST}:{port}/{AZURITE_ACCOUNT}"
        emulator = launch(
            "azure",
            [
                "node",
                str(main_js),
                "--blobHost",
                HOST,
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--extentMemoryLimit",  # else it keeps every extent in RAM
                "2048",
                "--loose",
                "--skipApiVersionCheck",
                "--disableTelemetry",  # else it ignores SIGTERM for 50 s
                "--silent",
            ],
            workdir=workdir,
            port=port,
            url=blob_endpoint,
            # An unsigned request is refused: that refusal means it is up.
            ready_url=f"{blob_endpoint}?comp=list",
            ready=lambda status: status == 403,
            timeout=timeout,
        )
        emulator.connection_string = azurite_connection_string(blob_endpoint)
        return emulator

    return with_free_port(start)


def make_azure_container(conn_str: str, name: str) -> str:
    """Create container ``name`` in the account of ``conn_str``; returns ``name``."""
    from azure.core.exceptions import ResourceExistsError  # noqa: PLC0415
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415

    # The name is unique to the test: "already exists" means the SDK retried a
    # create whose first answer was lost on a loaded machine.
    with (
        BlobServiceClient.from_connection_string(conn_str) as service,
        contextlib.suppress(ResourceExistsError),
    ):
        service.create_container(name)
    return name


def drop_azure_container(conn_str: str, name: str) -> None:
    """Delete container ``name`` and its blobs; a container already gone is fine.

    Every 10 minutes Azurite's clean-up walks every blob and extent it holds,
    sorting the whole collection for each page; in full test sessions that had
    left every container behind, requests stalled past the SDK's 60 s read
    timeout at about those times. Tests drop what they made, to keep it short.
    """
    from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415

    with (
        BlobServiceClient.from_connection_string(conn_str) as service,
        contextlib.suppress(ResourceNotFoundError),
    ):
        service.delete_container(name)
