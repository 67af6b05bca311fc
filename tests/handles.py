"""What a test process holds open: to prove a store released its files."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["handles_under", "needs_proc"]

_FDS = Path("/proc/self/fd")

needs_proc = pytest.mark.skipif(
    not _FDS.is_dir(), reason="counting open file descriptors reads /proc/self/fd"
)


def handles_under(root: Path) -> int:
    """How many file descriptors this process holds on `root` or below it."""
    top = root.resolve()
    count = 0
    for fd in _FDS.iterdir():
        try:
            target = fd.readlink()
        except OSError:  # closed since the listing (the listing's own descriptor)
            continue
        if target.is_relative_to(top):
            count += 1
    return count
