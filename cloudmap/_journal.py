"""The journal of a copy: what was copied, so that a rerun skips it.

For every key copied it records the source etag read and the destination etag
written; it is saved atomically (a temporary file, then a rename) every
`_SAVE_EVERY` records and at the end, and read back only when it was written
for the same source and destination.
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Journal"]

_SAVE_EVERY = 100


class Journal:
    """The key -> [source etag, destination etag] record, saved atomically."""

    def __init__(self, path: Path | None, source: str, destination: str) -> None:
        self._path = path
        self._header = {"source": source, "destination": destination}
        self._lock = threading.Lock()
        self._pending = 0
        self.entries: dict[str, list[str]] = {}
        if path is not None and path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                saved = {}
            if isinstance(saved, dict) and all(
                saved.get(k) == v for k, v in self._header.items()
            ):
                self.entries = dict(saved.get("keys", {}))

    def record(self, key: str, etags: list[str] | None) -> None:
        """Note `key`'s [source etag, destination etag], or None once deleted."""
        with self._lock:
            if etags is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = etags
            self._pending += 1
            if self._pending >= _SAVE_EVERY:
                self._save_locked()

    def save(self) -> None:
        """Write the journal to its file now."""
        with self._lock:
            self._save_locked()

    def _save_locked(self) -> None:
        self._pending = 0
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps({**self._header, "keys": self.entries}))
        temp.replace(self._path)
