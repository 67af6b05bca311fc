"""CI runs the README's commands as written, and the suite survives --junitxml."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _console_blocks(text: str) -> list[str]:
    return re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command_verbatim_with_junit() -> None:
    """The README's test command is a line of .ci/run and writes a JUnit report."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = [
        line
        for block in _console_blocks(readme)
        for line in block.splitlines()
        if "-m pytest" in line
    ]
    assert "--junitxml=" in command
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci_lines
    assert sum("-m pytest" in line for line in ci_lines) == 1


def test_record_property_passes_under_junitxml(tmp_path: Path) -> None:
    """With the project's pytest settings, record_property works with --junitxml."""
    (tmp_path / "test_figures.py").write_text(
        "def test_figure(record_property):\n    record_property('rounds', 3)\n",
        encoding="utf-8",
    )
    report = tmp_path / "junit.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            f"--junitxml={report}",
            str(tmp_path / "test_figures.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '<property name="rounds" value="3"' in report.read_text(encoding="utf-8")
