"""Every script in examples/ runs as-is, offline, and prints what it proves."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# A line each example prints only when what it demonstrates held.
EXPECTED = {
    "quickstart.py": "three atomic increments give runs = 3",
    "worker_coordination.py": "every task ran exactly once",
    "zict_lru_cache.py": "10 reads of a recent page: no request",
    "shelve_migration.py": "migration verified",
    "replication_ini.py": "backup stores zlib-compressed bytes",
    "leader_election.py": "one leader at a time; the killed leader was replaced",
    "config_watch.py": "the worker saw every change made by others, even while it was down",
}


def test_every_example_has_an_expected_line() -> None:
    """Each example in examples/ is listed here, so none goes untested."""
    assert sorted(path.name for path in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path: Path, tmp_path: Path) -> None:
    """The example exits 0 on a local directory and prints its proof line."""
    if path.name == "replication_ini.py" and not importlib.util.find_spec(
        "cloudmap.replication"
    ):
        pytest.skip("ReplicatedMapping (cloudmap.replication) is not merged yet")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CLOUDMAP_EXAMPLE_TARGET", None)
    result = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert EXPECTED[path.name] in result.stdout
