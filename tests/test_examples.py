"""Every script in examples/ runs as-is, offline, and prints what it proves."""

from __future__ import annotations

import importlib.util
import os
import re
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
    "custom_store.py": "a registered third-party store, opened by URL, keeps every guarantee",
}


def test_every_example_has_an_expected_line() -> None:
    """Each example in examples/ is listed here, so none goes untested."""
    assert sorted(path.name for path in EXAMPLES) == sorted(EXPECTED)


def run_example(
    path: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one example as a user does; CLOUDMAP_EXAMPLE_TARGET only from `env`."""
    base = {**os.environ, "PYTHONPATH": str(ROOT)}
    base.pop("CLOUDMAP_EXAMPLE_TARGET", None)
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_twice_on_one_folder(path: Path, tmp_path: Path) -> None:
    """Run again on the same folder, an example starts over and proves it again."""
    target = tmp_path / "target"
    for attempt in (1, 2):
        result = run_example(path, str(target), cwd=tmp_path)
        assert result.returncode == 0, f"run {attempt}: {result.stderr}"
        assert EXPECTED[path.name] in result.stdout


def test_quickstart_last_line_points_at_no_deleted_folder(tmp_path: Path) -> None:
    """Without a target the quickstart says its temporary folder is gone."""
    result = run_example(ROOT / "examples" / "quickstart.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "EtagMismatchError (a KeySyncError)" in result.stdout
    assert lines[-1] == "done; the keys lived in a temporary directory, now removed"


def test_worker_coordination_shares_the_work(tmp_path: Path) -> None:
    """Several worker processes each run some of the tasks."""
    result = run_example(ROOT / "examples" / "worker_coordination.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    counts = [int(n) for n in re.findall(r"worker-\d ran (\d+) tasks", result.stdout)]
    assert sum(counts) == 30
    busy = sum(1 for n in counts if n)
    assert busy > 1, result.stdout
    assert f"{busy} workers shared the 30 tasks" in result.stdout


def readme_blocks() -> dict[str, str]:
    """examples/README.md's ```bash block under each `### <provider>` heading."""
    text = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    found = re.findall(
        r"^### ([^\n]+)\n.*?```bash\n(.*?)```", text, re.MULTILINE | re.DOTALL
    )
    return {heading.split()[0].lower(): block for heading, block in found}


def test_examples_readme_has_a_block_per_provider() -> None:
    """The README gives S3, Azure and GCS variables, each naming its emulator."""
    assert sorted(readme_blocks()) == ["amazon", "azure", "google"]


ON_EMULATORS = sorted(set(EXPECTED) - {"replication_ini.py"})  # local by design


@pytest.mark.emulator
@pytest.mark.parametrize("provider", ["amazon", "azure", "google"])
def test_examples_run_on_the_emulators_as_the_readme_says(
    provider: str,
    s3_endpoint: str,
    azure_connection_string: str,
    gcs_endpoint: str,
    tmp_path: Path,
) -> None:
    """The README's variables for each provider, then every example, unchanged."""
    script = readme_blocks()[provider] + "".join(
        f"{sys.executable} examples/{name}\n" for name in ON_EMULATORS
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "AZURE_", "GOOGLE_", "CLOUDMAP_EXAMPLE"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path),
        NO_GCE_CHECK="true",
        CLOUDMAP_TEST_S3_ENDPOINT=s3_endpoint,
        CLOUDMAP_TEST_AZURE_CONNECTION_STRING=azure_connection_string,
        CLOUDMAP_TEST_GCS_ENDPOINT=gcs_endpoint,
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ON_EMULATORS:
        assert EXPECTED[name] in result.stdout, name


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
