"""Objects made once per process and key, and forgotten in a forked child."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["PerProcess"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerProcess(Generic[K, V]):
    """A registry that makes each key's object on first use, once per process."""

    def __init__(self, factory: Callable[[K], V]) -> None:
        self._factory = factory
        self._reset()
        # Meant for module-level registries: the hook keeps this one alive.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A lock held by another thread at fork time would stay held forever,
        # and a forked child has none of its parent's threads.
        self._lock = threading.Lock()
        self._items: dict[K, V] = {}

    def get(self, key: K) -> V:
        """The object of `key`, made now if this process has none yet."""
        with self._lock:
            try:
                return self._items[key]
            except KeyError:
                item = self._items[key] = self._factory(key)
                return item
