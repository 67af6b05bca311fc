"""Marker values, one per meaning, each with a readable repr."""

from __future__ import annotations

from typing import Any

__all__ = ["ABSENT", "NO_DEFAULT", "Sentinel"]


class Sentinel:
    """A marker value that prints as its name."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NO_DEFAULT: Any = Sentinel("<no default>")
"""`pop` and `modify` were given no default: a missing key raises KeyError."""

ABSENT: Any = Sentinel("<absent>")
"""A read found no object under the key."""
