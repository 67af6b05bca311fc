"""The shipped MappingContract, run over every provider by the `store_factory` fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cloudmap.testing import MappingContract


class TestMappings(MappingContract):
    """CloudMapping's semantics table holds on each store."""


CARELESS_SUITE = """
import pytest
from cloudmap.stores import MemoryStore
from cloudmap.testing import MappingContract


class IgnoresReadConditions(MemoryStore):
    def get(self, key, *, if_match=None, if_none_match=None):
        return super().get(key, if_none_match=if_none_match)


@pytest.fixture
def store_factory():
    shared = IgnoresReadConditions()
    return lambda: shared


class TestCareless(MappingContract):
    pass
"""


def test_contract_fails_a_store_that_ignores_read_conditions(tmp_path: Path) -> None:
    """A store that drops if_match on reads fails exactly the rows that rely on it."""
    (tmp_path / "test_careless.py").write_text(CARELESS_SUITE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    failed = sorted(
        line.split("::")[-1].split(" ")[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED")
    )
    assert failed == [
        "test_get_with_a_default_never_hides_a_conflict",
        "test_read_of_a_held_key_changed_remotely_raises",
    ], result.stdout
