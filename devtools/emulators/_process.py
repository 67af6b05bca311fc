"""A started emulator process: its handle, and how it is stopped by PID."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".emulators"
STOP_TIMEOUT = 10.0


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
        forget(self)
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
        forget(self)

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


def remember(emulator: Emulator) -> None:
    """Stop ``emulator`` at interpreter exit unless stopped or detached first."""
    if emulator.pid is not None:
        with _RUNNING_LOCK:
            _RUNNING[emulator.pid] = emulator


def forget(emulator: Emulator) -> None:
    """Undo :func:`remember`."""
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
