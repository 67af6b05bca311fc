"""The command line's progress bar: tqdm on a terminal, nothing otherwise."""

from __future__ import annotations

import shutil
import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A tqdm bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool, description: str) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm  # noqa: PLC0415 - only long commands on a TTY need it

            # A terminal that reports no size (a bare pty) would hide the bar.
            size = shutil.get_terminal_size()
            self._bar = tqdm(
                desc=description,
                unit="key",
                file=sys.stderr,
                ncols=size.columns or 80,
                nrows=size.lines or 24,
            )

    def total(self, count: int) -> None:
        if self._bar is not None and self._bar.total != count:
            self._bar.reset(total=count)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def goto(self, position: int) -> None:
        if self._bar is not None:
            self._bar.update(position - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
