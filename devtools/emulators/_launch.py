"""Start an emulator on a free 127.0.0.1 port and wait until it answers."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from devtools.emulators._process import HOST, Emulator, EmulatorError, remember

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

READY_TIMEOUT = 45.0  # seconds; all three are normally up within 5 s
_PORT_ATTEMPTS = 3
_LOG_TAIL_BYTES = 4000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path | None) -> str:
    """The last few kilobytes of an emulator's or installer's log."""
    if path is None or not path.exists():
        return "(no log)"
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - _LOG_TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return tail or "(empty log)"


def http_status(url: str, timeout: float = 2.0) -> int | None:
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


def launch(
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
    remember(emulator)
    deadline = time.monotonic() + timeout
    while True:
        status = http_status(ready_url)
        if status is not None and ready(status):
            return emulator
        code = process.poll()
        if code is not None:
            emulator.stop()
            raise _StartError(
                f"{name} emulator exited with code {code} before it was ready "
                f"(command: {' '.join(argv)}); log {log_path}:\n{log_tail(log_path)}",
                port_in_use=_mentions_port_in_use(log_path),
            )
        if time.monotonic() > deadline:
            emulator.stop()
            raise EmulatorError(
                f"{name} emulator not ready after {timeout:.0f} s at {ready_url} "
                f"(last status {status}; command: {' '.join(argv)}); "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(0.05)


class _StartError(EmulatorError):
    def __init__(self, message: str, *, port_in_use: bool) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use


def _mentions_port_in_use(log_path: Path) -> bool:
    return bool(
        re.search(
            r"address already in use|EADDRINUSE", log_tail(log_path), re.IGNORECASE
        )
    )


def with_free_port(start: Callable[[int], Emulator]) -> Emulator:
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
