"""Start, stop and inspect the test storage emulators outside pytest.

Usage (from the repository root)::

    eval "$(python scripts/emulators.py start)"   # start all three, export endpoints
    python -m pytest                               # reuses them (CLOUDMAP_TEST_*)
    python scripts/emulators.py status
    python scripts/emulators.py stop

``start`` leaves the emulators running in the background (each in its own
session, so they outlive the shell command), records their pids and endpoints in
``.emulators/state.json`` and prints ``export CLOUDMAP_TEST_...=...`` lines on
stdout; everything else goes to stderr. ``stop`` stops exactly the processes
recorded there, checking first that each pid still runs the recorded command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from devtools.emulators import (  # noqa: E402 - needs the repository on sys.path
    DEFAULT_CACHE_DIR,
    ENV_AZURE,
    ENV_GCS,
    ENV_S3,
    Emulator,
    EmulatorError,
    is_ready,
    start_all,
)

STATE_PATH = DEFAULT_CACHE_DIR / "state.json"
RUN_DIR = DEFAULT_CACHE_DIR / "run"


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _load_state(path: Path) -> dict[str, Emulator]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {name: Emulator.from_dict(item) for name, item in data.items()}


def _save_state(path: Path, emulators: dict[str, Emulator]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({n: e.to_dict() for n, e in emulators.items()}, indent=2) + "\n"
    )
    tmp.replace(path)


def _is_ours(emulator: Emulator) -> bool:
    """Whether the recorded pid still runs the recorded command (pids get reused)."""
    if not emulator.alive():
        return False
    cmdline_path = Path(f"/proc/{emulator.pid}/cmdline")
    try:
        running = cmdline_path.read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the pid
    return [a.decode(errors="replace") for a in running if a] == emulator.cmdline


def _exports(emulators: dict[str, Emulator]) -> list[str]:
    values = {
        ENV_S3: emulators["s3"].url,
        ENV_AZURE: emulators["azure"].connection_string or "",
        ENV_GCS: emulators["gcs"].url,
    }
    return [f"export {k}={shlex.quote(v)}" for k, v in values.items()]


def cmd_start(state_path: Path) -> int:
    """Start the three emulators in the background unless they already run."""
    current = _load_state(state_path)
    if current and all(_is_ours(e) and is_ready(e) for e in current.values()):
        _err(f"emulators already running (state in {state_path})")
        print("\n".join(_exports(current)))
        return 0
    if current:
        _err("stale or partial state: stopping what is left of it first")
        cmd_stop(state_path)
    try:
        started = start_all(RUN_DIR, use_env=False)
    except EmulatorError as error:
        _err(str(error))
        return 1
    for emulator in started.values():
        emulator.detach()  # keep running after this command exits
    _save_state(state_path, started)
    for emulator in started.values():
        _err(f"{emulator.name}: pid {emulator.pid} at {emulator.url}")
    _err(f"state in {state_path}; stop with: python scripts/emulators.py stop")
    print("\n".join(_exports(started)))
    return 0


def cmd_stop(state_path: Path) -> int:
    """Stop the emulators recorded in the state file."""
    current = _load_state(state_path)
    if not current:
        _err(f"nothing to stop ({state_path} missing)")
        return 0
    for emulator in current.values():
        if _is_ours(emulator):
            emulator.stop()
            _err(f"{emulator.name}: stopped pid {emulator.pid}")
        else:
            _err(f"{emulator.name}: pid {emulator.pid} not running it any more")
    state_path.unlink(missing_ok=True)
    return 0


def cmd_status(state_path: Path) -> int:
    """Print each emulator's state; exit 1 unless all three are up."""
    current = _load_state(state_path)
    if not current:
        print(f"not started ({state_path} missing)")
        return 1
    healthy = True
    for emulator in current.values():
        running = _is_ours(emulator)
        answering = running and is_ready(emulator)
        healthy = healthy and answering
        state = "up" if answering else "not answering" if running else "gone"
        print(f"{emulator.name:6} {state:14} pid {emulator.pid}  {emulator.url}")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--state", type=Path, default=STATE_PATH, help="state file (%(default)s)"
    )
    args = parser.parse_args(argv)
    commands = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}
    return commands[args.command](args.state)


if __name__ == "__main__":
    sys.exit(main())
