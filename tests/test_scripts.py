"""scripts/ runs without the test tree: the emulator launchers live in devtools/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# `tests` made unimportable: any import of it from the script fails loudly.
_RUN_WITHOUT_TESTS = """\
import runpy, sys
sys.modules["tests"] = None
sys.argv = [sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_emulators_script_does_not_import_the_test_tree(tmp_path: Path) -> None:
    """`scripts/emulators.py status` works with the `tests` package unimportable."""
    state = tmp_path / "state.json"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_WITHOUT_TESTS,
            str(ROOT / "scripts" / "emulators.py"),
            "status",
            "--state",
            str(state),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == f"not started ({state} missing)\n"
