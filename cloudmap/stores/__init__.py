"""Store implementations; the cloud ones import their SDK only when used."""

from __future__ import annotations

from cloudmap.stores.local import LocalStore as LocalStore
from cloudmap.stores.memory import MemoryStore as MemoryStore

__all__ = ["LocalStore", "MemoryStore"]
